import json
import sys

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3] / "src"))
from c11._web import pake

cmd = sys.argv[1]
arg = json.loads(sys.argv[2])
if cmd == "setup":
    s = pake.ServerSetup()
    print(json.dumps({"setup": pake.b64u(s.to_bytes())}))
elif cmd == "regstart":
    s = pake.ServerSetup(pake.unb64u(arg["setup"]))
    print(
        json.dumps({"response": pake.b64u(s.registration_response(pake.unb64u(arg["request"]), arg["cred"].encode()))})
    )
elif cmd == "loginstart":
    s = pake.ServerSetup(pake.unb64u(arg["setup"]))
    ke2, st = s.login_start(
        pake.registration_record(pake.unb64u(arg["upload"])), pake.unb64u(arg["request"]), arg["cred"].encode()
    )
    print(json.dumps({"response": pake.b64u(ke2), "state": pake.b64u(st)}))
elif cmd == "loginfinish":
    print(json.dumps({"session_key": pake.b64u(pake.login_finish(pake.unb64u(arg["state"]), pake.unb64u(arg["fin"])))}))
