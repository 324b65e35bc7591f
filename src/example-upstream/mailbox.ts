/**
 * EXAMPLE ONLY — not part of the gateway. The in-memory state of the bundled example
 * upstream: announced devices (a bearer token and a delivery address each) and the
 * messages queued for them.
 */
import { randomBytes, randomUUID } from 'node:crypto';

/** A message as the example server delivers it on the stream. */
export interface QueuedMessage {
  readonly type: 'message';
  readonly message_id: string;
  readonly sender_address: string;
  readonly recipient_address: string;
  readonly ciphertext: unknown;
  readonly sent_at: number;
}

/** A device as announced to the example server. */
export interface Device {
  readonly access_token: string;
  readonly delivery_address: string;
}

type Listener = (message: QueuedMessage) => void;

export class Mailbox {
  private readonly byToken = new Map<string, Device>();
  private readonly queues = new Map<string, QueuedMessage[]>();
  private readonly listeners = new Map<string, Set<Listener>>();

  /** Announces a new device: a random bearer token and delivery address. */
  announce(domain: string): Device {
    const device = {
      access_token: randomBytes(24).toString('base64url'),
      delivery_address: `${randomBytes(6).toString('hex')}@${domain}`,
    };
    this.byToken.set(device.access_token, device);
    this.queues.set(device.delivery_address, []);
    return device;
  }

  /** The device a bearer token belongs to. */
  deviceOf(token: string | undefined): Device | undefined {
    return token === undefined ? undefined : this.byToken.get(token);
  }

  /** True when some device has this address. */
  knows(address: string): boolean {
    return this.queues.has(address);
  }

  /** Queues a message, or hands it straight to a connected stream. */
  send(sender: Device, recipient: string, ciphertext: unknown): QueuedMessage {
    const message: QueuedMessage = {
      type: 'message',
      message_id: `msg_${randomUUID()}`,
      sender_address: sender.delivery_address,
      recipient_address: recipient,
      ciphertext,
      sent_at: Math.floor(Date.now() / 1000),
    };
    const live = this.listeners.get(recipient);
    if (live && live.size > 0) for (const listener of live) listener(message);
    else this.queues.get(recipient)?.push(message);
    return message;
  }

  /** Starts delivering to `listener`: the backlog first, then live messages. Returns the way to stop. */
  subscribe(address: string, listener: Listener): () => void {
    const backlog = this.queues.get(address) ?? [];
    this.queues.set(address, []);
    for (const message of backlog) listener(message);
    let set = this.listeners.get(address);
    if (!set) this.listeners.set(address, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }
}
