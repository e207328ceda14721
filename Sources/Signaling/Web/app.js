// @ts-check
// The web client's entry, loaded by index.html as a module: publishes client.js's `chorus` as
// window.chorus, the hook the browser tests drive, and wires the page's forms and buttons to it.

import { api } from "./api.js";
import { chorus, start } from "./client.js";
import { $, reportError, inputValue, toggleSpeakerView } from "./ui.js";

/** @type {Window & typeof globalThis & {chorus?: typeof chorus}} */
const page = window;
page.chorus = chorus;

// MARK: wiring

function wire() {
  $("dev-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const admin = /** @type {HTMLInputElement} */ ($("dev-admin")).checked;
      const { token } = await api("POST", "/api/dev/token", { name: inputValue("dev-name").trim(), admin });
      chorus.signIn(token);
    } catch (error) {
      reportError(error, "Sign in");
    }
  });
  $("matrix-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("matrix-error");
    const submit = /** @type {HTMLButtonElement} */ ($("matrix-submit"));
    error.hidden = true;
    submit.disabled = true;
    try {
      await chorus.signInWithMatrix(inputValue("matrix-homeserver"), inputValue("matrix-user"), inputValue("matrix-password"));
      /** @type {HTMLInputElement} */ ($("matrix-password")).value = "";
    } catch (failure) {
      // Beside the form, where the user looks: a wrong password or homeserver URL is theirs to fix.
      error.textContent = String(/** @type {Error} */ (failure).message || failure);
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    chorus.signIn(inputValue("token-input").trim());
  });
  $("signout").addEventListener("click", chorus.signOut);
  $("group-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await chorus.startGroupCall(inputValue("group-invitees"));
      /** @type {HTMLInputElement} */ ($("group-invitees")).value = "";
    } catch (error) {
      reportError(error, "Start call");
    }
  });
  $("direct-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await chorus.call(inputValue("direct-user"));
    } catch (error) {
      reportError(error, "Call");
    }
  });
  $("refresh-calls").addEventListener("click", chorus.refreshCalls);
  $("ringing-cancel").addEventListener("click", () => chorus.hangUp());
  $("btn-mic").addEventListener("click", () => chorus.toggleAudio());
  $("btn-cam").addEventListener("click", () => chorus.toggleVideo());
  $("btn-screen").addEventListener("click", () => chorus.toggleScreenShare());
  $("btn-leave").addEventListener("click", () => chorus.hangUp());
  $("btn-speaker-view").addEventListener("click", () => toggleSpeakerView());
}

async function boot() {
  wire();
  await start();
  chorus.ready = true;
}

boot();
