// Makes tests/vectors/opaque/serenity.json: an OPAQUE registration made by the browser library
// @serenity-kit/opaque 1.1.0 (npm) against a server setup of c11's Python side (c11._web.pake), then a
// login by the browser library against that record. Run by hand (needs the npm package and the venv):
//   npm pack @serenity-kit/opaque@1.1.0 && tar xzf serenity-kit-opaque-1.1.0.tgz
//   node generate_serenity.js ./package/cjs/index.js /path/to/venv/bin/python > serenity.json
// c11's KSF is Argon2id m=19456 KiB, t=2, p=1: the browser library must be given it as "argon2id-custom".
const opaque = require(process.argv[2]);
const { execFileSync } = require("child_process");
const py = (cmd, arg) => JSON.parse(execFileSync(process.argv[3], [__dirname + "/pyside.py", cmd, JSON.stringify(arg)]).toString());
const KSF = { "argon2id-custom": { memory: 19456, iterations: 2, parallelism: 1 } };
(async () => {
  await opaque.ready;
  const password = "vector password: not a real one";
  const cred = "http://127.0.0.1:8000\nuser-0123456789abcdef";
  const { setup } = py("setup", {});
  const reg = opaque.client.startRegistration({ password });
  const { response } = py("regstart", { setup, request: reg.registrationRequest, cred });
  const fin = opaque.client.finishRegistration({ clientRegistrationState: reg.clientRegistrationState,
    registrationResponse: response, password, keyStretching: KSF });
  const login = opaque.client.startLogin({ password });
  const ke2 = py("loginstart", { setup, upload: fin.registrationRecord, request: login.startLoginRequest, cred });
  const done = opaque.client.finishLogin({ clientLoginState: login.clientLoginState, loginResponse: ke2.response,
    password, keyStretching: KSF });
  const server = py("loginfinish", { state: ke2.state, fin: done.finishLoginRequest });
  if (server.session_key !== done.sessionKey) throw new Error("session keys differ");
  console.log(JSON.stringify({ library: "@serenity-kit/opaque 1.1.0", ksf: KSF, password,
    credential_identifier: cred, server_setup: setup, registration_upload: fin.registrationRecord,
    export_key: fin.exportKey, server_static_public_key: fin.serverStaticPublicKey }, null, 2));
})();
