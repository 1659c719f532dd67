// Contacts with live presence, search to add people, and the call buttons.
import type { Contact } from '@voip/client/api';
import type { VoipClient } from '@voip/client/voip';
import type { Media } from '@voip/contracts/calls';
import { byId, h } from './dom.js';
import type { People } from './people.js';

export interface ContactsViewDeps {
  client: VoipClient;
  people: People;
  myId: () => string | null;
  onCall: (userId: string, media: Media) => void;
  onError: (err: unknown) => void;
}

export class ContactsView {
  readonly #list = byId<HTMLUListElement>('contacts');
  readonly #results = byId<HTMLUListElement>('results');
  #contacts: Contact[] = [];

  constructor(private readonly deps: ContactsViewDeps) {
    byId<HTMLFormElement>('search').addEventListener('submit', (e) => {
      e.preventDefault();
      const q = new FormData(e.target as HTMLFormElement).get('q');
      if (typeof q === 'string' && q.trim()) void this.search(q.trim());
    });
    byId<HTMLFormElement>('dial').addEventListener('submit', (e) => {
      e.preventDefault();
      const form = e.target as HTMLFormElement;
      const id = new FormData(form).get('userId');
      const media =
        ((e as SubmitEvent).submitter as HTMLButtonElement | null)?.dataset.media === 'video'
          ? 'video'
          : 'audio';
      if (typeof id === 'string' && id.trim()) deps.onCall(id.trim(), media);
    });
    deps.client.on('presence', (p) => this.#setPresence(p.userId, p.status));
  }

  async load(): Promise<void> {
    try {
      const { items } = await this.deps.client.users.contacts();
      this.#contacts = items;
      for (const c of items) this.deps.people.remember(c.userId, c.displayName);
      this.#render();
    } catch (err) {
      this.deps.onError(err);
    }
  }

  clear(): void {
    this.#contacts = [];
    this.#list.replaceChildren();
    this.#results.replaceChildren();
  }

  async search(q: string): Promise<void> {
    try {
      const { items } = await this.deps.client.users.search(q, { limit: 10 });
      const me = this.deps.myId();
      const known = new Set(this.#contacts.map((c) => c.userId));
      this.#results.replaceChildren(
        ...items
          .filter((p) => p.id !== me)
          .map((p) => {
            this.deps.people.remember(p.id, p.displayName);
            return h(
              'li',
              { 'data-user-id': p.id, 'data-test': 'search-result' },
              h('span', {
                class: 'dot',
                'data-test': 'presence',
                'data-status': p.presence?.status ?? 'offline',
              }),
              h(
                'span',
                { class: 'name' },
                p.displayName,
                p.username ? h('span', { class: 'muted small' }, ` @${p.username}`) : null,
              ),
              known.has(p.id)
                ? h('span', { class: 'muted small' }, 'contact')
                : h('button', { 'data-test': 'add-contact', onclick: () => void this.#add(p.id) }, 'Add'),
            );
          }),
      );
      if (items.length === 0)
        this.#results.replaceChildren(h('li', { class: 'muted small' }, 'Nobody found'));
    } catch (err) {
      this.deps.onError(err);
    }
  }

  async #add(userId: string): Promise<void> {
    try {
      await this.deps.client.users.addContact(userId);
      this.#results.replaceChildren();
      await this.load();
    } catch (err) {
      this.deps.onError(err);
    }
  }

  async #remove(userId: string): Promise<void> {
    try {
      await this.deps.client.users.removeContact(userId);
      await this.load();
    } catch (err) {
      this.deps.onError(err);
    }
  }

  #setPresence(userId: string, status: string): void {
    const c = this.#contacts.find((x) => x.userId === userId);
    if (c)
      c.presence = {
        status: status as 'online' | 'busy' | 'offline',
        lastSeenAt: c.presence?.lastSeenAt ?? null,
      };
    const dot = this.#list.querySelector<HTMLElement>(`li[data-user-id="${CSS.escape(userId)}"] .dot`);
    if (dot) {
      dot.dataset.status = status;
      dot.title = status;
    }
  }

  #render(): void {
    if (this.#contacts.length === 0) {
      this.#list.replaceChildren(
        h('li', { class: 'muted small' }, 'No contacts yet: search for someone above.'),
      );
      return;
    }
    this.#list.replaceChildren(
      ...this.#contacts.map((c) => {
        const status = c.presence?.status ?? 'offline';
        return h(
          'li',
          { 'data-user-id': c.userId, 'data-test': 'contact' },
          h('span', { class: 'dot', 'data-test': 'presence', 'data-status': status, title: status }),
          h('span', { class: 'name' }, c.displayName),
          h(
            'button',
            {
              'data-test': 'call-audio',
              title: 'Audio call',
              onclick: () => this.deps.onCall(c.userId, 'audio'),
            },
            'Audio',
          ),
          h(
            'button',
            {
              'data-test': 'call-video',
              title: 'Video call',
              onclick: () => this.deps.onCall(c.userId, 'video'),
            },
            'Video',
          ),
          h(
            'button',
            {
              class: 'link small',
              'data-test': 'remove-contact',
              title: 'Remove contact',
              onclick: () => void this.#remove(c.userId),
            },
            '✕',
          ),
        );
      }),
    );
  }
}
