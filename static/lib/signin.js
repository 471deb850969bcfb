// The staff sign-in form the tablet and the manager page share: the tablet's remembered device name, its
// check, the device key kept per person (sent with their sign-ins), the button's busy state and the error
// text. What a sign-in leads to is the page's (onSignedIn).
//
//   signInForm({ form: "sign-in-form", message: "sign-in-message", onSignedIn: async (signed, device) => ... });
//
// onSignedIn may return a message to show instead (the sign-in was not for this screen).
//
//   signOutButton({ request, onSignedOut: (message) => ... });   the "Sign out" button (#sign-out)
//
// request is the page's own (a 401 there signs the page out already); a failure is shown in #notice.
//
//   showSignInForm({ message, text, kind, title });   the form shown again (signed out), `text` in its message

import { ApiError, call } from "./api.js";
import { $ } from "./dom.js";
import { t } from "./i18n.js";
import { local, show } from "./page.js";
import { refusalText } from "./refusals.js";

// Where the tablet and the manager page keep a sign-in: the one tab's staff token is either page's.
export const TOKEN_KEY = "floor.tablet.token"; // sessionStorage
export const CLINIC_KEY = "floor.tablet.clinic"; // localStorage: the clinic last looked at
export const DEVICE_KEY = "floor.tablet.device"; // localStorage: the tablet's name, kept across sign-ins
// localStorage, per staff id: the device key the server gave this browser when that person signed in here, sent
// with their next sign-ins so that others' wrong PINs (which make the account wait) do not keep them out here.
export const DEVICE_PROOF_PREFIX = "floor.signin.device_key.";
const DEVICE_PATTERN = /^[\p{L}\p{N}_ .:-]+$/u; // as the server's \w: any letter or digit, "Recepción" too
// A staff id as the server makes them (floor.sessions.STAFF_ID).
const STAFF_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{1,39}$/;

/** Whether what was typed in the staff-id field could be a PIN (or a password) typed there by mistake: digits
 *  only, as PINs are, or no staff id at all. Such a field is not kept after a sign-in that failed, where the next
 *  person at a shared tablet would read it. */
export function couldBeAPin(typed) {
  const id = typed.trim();
  return /^\d+$/.test(id) || !STAFF_ID_PATTERN.test(id.toLowerCase());
}


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
      device.setCustomValidity(t("signin.device_pattern"));
      device.reportValidity();
      return;
    }
    const button = $("signin-submit");
    const label = button.textContent; // in the page's language
    button.disabled = true;
    button.textContent = t("signin.signing_in");
    show($(message), "");
    try {
      const body = { staff, secret, device: name };
      const proof = local.get(DEVICE_PROOF_PREFIX + staff);
      if (proof && proof.length <= 128) body.device_key = proof; // the server's limit: a mangled one is not sent
      const signed = await call("POST", "/api/sign-in", { body });
      local.set(DEVICE_KEY, name);
      if (signed.device_key) local.set(DEVICE_PROOF_PREFIX + signed.staff, String(signed.device_key));
      $("signin-secret").value = "";
      const refused = await onSignedIn(signed, name);
      if (refused) {
        show($(message), refused, "error");
        $("signin-staff").focus();
      }
    } catch (err) {
      show($(message), refusalText(err, { signingIn: true }), "error");
      $("signin-secret").value = "";
      // A PIN typed into the staff-id field is not left there to read (the server keeps such an id only as a
      // keyed hash, floor.directory.base.unknown_id_key); a staff id is kept, the PIN to type again.
      if ($("signin-staff").value && couldBeAPin($("signin-staff").value)) {
        $("signin-staff").value = "";
        $("signin-staff").focus();
      } else {
        $("signin-secret").focus();
      }
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });
}

/** The form shown again (signed out, or not yet signed in): `text` in its message, the secret cleared, the
 *  device name remembered, the page's `title`, and the first field left to fill focused. */
export function showSignInForm({ message, text, kind, title }) {
  show($(message), text, kind);
  $("signin-secret").value = "";
  $("signin-device").value = $("signin-device").value || local.get(DEVICE_KEY) || "";
  document.title = title;
  ($("signin-staff").value ? $("signin-secret") : $("signin-staff")).focus();
}

/** The "Sign out" button: end the sign-in on the server, clear the staff id for the next person, then
 * onSignedOut(message) forgets what the page showed. */
export function signOutButton({ request, onSignedOut }) {
  const button = $("sign-out");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await request("POST", "/api/sign-out");
      $("signin-staff").value = ""; // the next person on this tablet types their own
      onSignedOut(t("signin.signed_out"));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return; // already signed out by request()
      show($("notice"), t("signin.could_not_sign_out", { why: refusalText(err) }), "error");
    } finally {
      button.disabled = false;
    }
  });
}
