// Display names by user id, learned from contacts, searches and calls, fetched once when unknown
// (history rows only carry the peer's id).
import type { VoipClient } from '@voip/client/voip';

export class People {
  readonly #names = new Map<string, string>();
  readonly #pending = new Map<string, Promise<string>>();

  constructor(private readonly client: VoipClient) {}

  remember(id: string, displayName: string | undefined): void {
    if (displayName) this.#names.set(id, displayName);
  }

  known(id: string): string | undefined {
    return this.#names.get(id);
  }

  async name(id: string): Promise<string> {
    const known = this.#names.get(id);
    if (known) return known;
    let p = this.#pending.get(id);
    if (!p) {
      p = this.client.users.profile(id).then(
        (profile) => {
          this.remember(id, profile.displayName);
          return profile.displayName;
        },
        () => id,
      );
      this.#pending.set(id, p);
    }
    return p;
  }
}
