// The staff sign-in form the tablet and the manager page share: the tablet's remembered device name, its
// check, the button's busy state and the error text. What a sign-in leads to is the page's (onSignedIn).
//
//   signInForm({ form: "sign-in-form", message: "sign-in-message", onSignedIn: async (signed, device) => ... });
//
// onSignedIn may return a message to show instead (the sign-in was not for this screen).

import { ApiError, call } from "./api.js";
import { local, show } from "./page.js";

export const DEVICE_KEY = "floor.tablet.device"; // localStorage: the tablet's name, kept across sign-ins
const DEVICE_PATTERN = /^[\w .:-]+$/;
const OFFLINE = "Cannot reach the server. Check the network and try again.";

const $ = (id) => document.getElementById(id);

export function signInForm({ form, message, onSignedIn }) {
  const device = $("signin-device");
  device.value = local.get(DEVICE_KEY) || "";
  device.addEventListener("input", () => device.setCustomValidity(""));
  $(form).addEventListener("submit", async (e) => {
    e.preventDefault();
    const staff = $("signin-staff").value.trim().toLowerCase();
    const secret = $("signin-secret").value;
    const name = device.value.trim();
    if (name && !DEVICE_PATTERN.test(name)) {
      device.setCustomValidity("Use letters, digits, spaces, dots, colons, dashes or underscores.");
      device.reportValidity();
      return;
    }
    const button = $("signin-submit");
    const label = button.textContent; // in the page's language
    button.disabled = true;
    button.textContent = "Signing in…";
    show($(message), "");
    try {
      const signed = await call("POST", "/api/sign-in", { body: { staff, secret, device: name } });
      local.set(DEVICE_KEY, name);
      $("signin-secret").value = "";
      const refused = await onSignedIn(signed, name);
      if (refused) {
        show($(message), refused, "error");
        $("signin-staff").focus();
      }
    } catch (err) {
      show($(message), err instanceof ApiError ? err.message : OFFLINE, "error");
      $("signin-secret").value = "";
      $("signin-secret").focus();
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });
}
