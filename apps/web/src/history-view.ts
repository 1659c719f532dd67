// The call history (GET /api/calls). History is written from the call.ended stream, a moment after the
// call ends, so after a call the list is reloaded until that call shows up.
import type { HistoryItem } from '@voip/contracts/calls';
import type { VoipClient } from '@voip/client/voip';
import { byId, formatDuration, formatTime, h } from './dom.js';
import type { People } from './people.js';

export class HistoryView {
  readonly #list = byId<HTMLUListElement>('history');
  #generation = 0;

  constructor(
    private readonly client: VoipClient,
    private readonly people: People,
    private readonly onError: (err: unknown) => void,
  ) {
    byId('history-refresh').addEventListener('click', () => void this.load());
  }

  async load(): Promise<HistoryItem[]> {
    const gen = ++this.#generation;
    try {
      const { items } = await this.client.calls.history({ limit: 20 });
      if (gen === this.#generation) this.#render(items);
      return items;
    } catch (err) {
      this.onError(err);
      return [];
    }
  }

  /** Reloads a few times until `callId` is listed. */
  async waitFor(callId: string, tries = 10): Promise<void> {
    for (let i = 0; i < tries; i++) {
      const items = await this.load();
      if (items.some((x) => x.callId === callId)) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  clear(): void {
    this.#generation++;
    this.#list.replaceChildren();
  }

  #render(items: HistoryItem[]): void {
    if (items.length === 0) {
      this.#list.replaceChildren(h('li', { class: 'muted small' }, 'No calls yet'));
      return;
    }
    this.#list.replaceChildren(
      ...items.map((item) => {
        const name = h('span', { class: 'name' }, this.people.known(item.peerId) ?? item.peerId);
        if (!this.people.known(item.peerId)) void this.people.name(item.peerId).then((n) => (name.textContent = n));
        return h(
          'li',
          {
            'data-test': 'history-item',
            'data-call-id': item.callId,
            'data-outcome': item.outcome,
            'data-duration-ms': item.durationMs,
            title: `${item.media} call, ${item.endReason}, ${formatTime(item.startedAt)}`,
          },
          h('span', { title: item.direction }, item.direction === 'outgoing' ? '↗' : '↙'),
          name,
          h('span', { class: `small outcome-${item.outcome}` }, item.outcome),
          h('span', { class: 'small muted' }, item.outcome === 'answered' ? formatDuration(item.durationMs) : ''),
        );
      }),
    );
  }
}
