// @ts-check
// The realtime channel: the native WebSocket at /ws carrying `{event, data}` frames both ways,
// reconnected with backoff while signed in; frames sent while it is down wait in a short queue.

import { API } from "./api.js";

/** @typedef {"connecting" | "online" | "offline"} ConnectionState */
/** @typedef {Record<string, any>} EventData the `data` of a frame, as the server sent it */

export class Realtime {
  /**
   * @param {string} token
   * @param {(event: string, data: EventData) => void} onEvent
   * @param {(state: ConnectionState) => void} onState
   */
  constructor(token, onEvent, onState) {
    this.token = token;
    this.onEvent = onEvent;
    this.onState = onState;
    /** @type {WebSocket | null} */
    this.socket = null;
    this.attempts = 0;
    this.everOpened = false;
    /** @type {string[]} */
    this.queue = [];
    this.stopped = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /**
     * Called on every open; `reconnected` on all but the first.
     * @type {((reconnected: boolean) => void) | null}
     */
    this.onOpen = null;
  }

  connect() {
    if (this.stopped) return;
    this.onState("connecting");
    const url = `${API.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(this.token)}`;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      const reconnected = this.attempts > 0 || this.everOpened;
      this.attempts = 0;
      this.everOpened = true;
      this.onState("online");
      for (const frame of this.queue.splice(0)) socket.send(frame);
      this.onOpen?.(reconnected);
    };
    socket.onmessage = (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      if (frame && typeof frame.event === "string") this.onEvent(frame.event, frame.data || {});
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.onState("offline");
      if (this.stopped) return;
      // 0.5 s, 1 s, 2 s ... up to 15 s, with jitter so that many clients do not return together.
      const delay = Math.min(15000, 500 * 2 ** this.attempts) * (0.75 + Math.random() * 0.5);
      this.attempts += 1;
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  /**
   * @param {string} event
   * @param {object} data
   */
  send(event, data) {
    const frame = JSON.stringify({ event, data });
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(frame);
    else if (this.queue.length < 100) this.queue.push(frame);
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close();
    this.onState("offline");
  }
}
