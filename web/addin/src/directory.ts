/** The pane's `Directory` on the real server: the web app's registry lookups (log proofs verified in the page) and
 *  its organization-policy reading (web/src/app/registry.ts, orgpolicy.ts), with the session from the sign-in dialog. */

import type { Session } from "../../src/app/api";
import { ownPolicy } from "../../src/app/orgpolicy";
import { lookupWithOrg, newTrust } from "../../src/app/registry";
import type { Directory } from "./pane";

export function serverDirectory(session: Session): Directory {
  const trust = newTrust();
  return {
    email: session.email,
    lookup: (email) => lookupWithOrg(trust, session, email),
    ownPolicy: () => ownPolicy(session),
  };
}

/** Sign in through the Office dialog API: login.html runs the OPAQUE login and sends the session back with
 *  `messageParent` (same origin: the message is accepted only from this server's page). The dialog is its own
 *  window, never a frame (login.html may not be framed by anyone: frame-ancestors 'none'). */
export function signInWithDialog(): Promise<Directory> {
  return new Promise((resolve, reject) => {
    const url = new URL("login.html", location.href).href;
    Office.context.ui.displayDialogAsync(url, { height: 60, width: 30, displayInIframe: false }, (res) => {
      if (res.status !== Office.AsyncResultStatus.Succeeded) return reject(new Error(`The sign-in window did not open (${res.error.message}).`));
      const dialog = res.value;
      dialog.addEventHandler(Office.EventType.DialogMessageReceived, (arg) => {
        dialog.close();
        const m = arg as { message: string; origin: string | undefined };
        if (m.origin !== undefined && m.origin !== location.origin) return reject(new Error("sign-in answer from another site refused"));
        try {
          resolve(serverDirectory(JSON.parse(m.message) as Session));
        } catch {
          reject(new Error("the sign-in window sent an unreadable answer"));
        }
      });
      dialog.addEventHandler(Office.EventType.DialogEventReceived, () => reject(new Error("Sign-in was cancelled.")));
    });
  });
}
