/** Who signed an opened file or message, shown prominently: your own key, or an UNVERIFIED self-asserted label
 *  (as the CLI says without a trust entry). Labels are shown as text, never as HTML. */
import type { FileInfo } from "../core/file";

export function Signer({ info, ownKey }: { info: FileInfo; ownKey: boolean }) {
  return (
    <div class={ownKey ? "signer verified" : "signer unverified"} role="status">
      {ownKey ? (
        <p><strong>Signed by you</strong> (<span class="label">{info.author}</span>): the signature is by your own key.</p>
      ) : (
        <p>
          <strong>UNVERIFIED:</strong> signed by the key of <span class="label">'{info.author}'</span>, a
          self-asserted label. The signature is valid, but this page has not checked that the key belongs to
          that person (the command line's <code>c11 trust</code> or a registry lookup does).
        </p>
      )}
      <p class="fingerprint">Signing key: <code>{info.authorKey}</code></p>
      {info.resharer !== null && <p>Re-shared by <span class="label">{info.resharer}</span>, written by <span class="label">{info.author}</span>.</p>}
      {info.rotated && <p>The content was re-encrypted by its rotator.</p>}
      {!info.contentSigned && <p class="warning">Version 1 file: its content is not signed by the author.</p>}
    </div>
  );
}
