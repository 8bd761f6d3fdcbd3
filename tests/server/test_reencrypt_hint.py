"""The re-encrypt hint after decrypting with a temporary key is pasteable: paths are quoted for the shell."""

from __future__ import annotations

import shlex
import time

from c11 import files
from c11.cli.invites import hint_reencrypt
from c11.keys.identity import Identity


def test_hint_quotes_a_path_with_spaces_and_quotes(tmp_path, capsys):
    temp = Identity.generate("bob@example.com (temporary)", created=int(time.time()))
    folder = tmp_path / "my docs; rm -rf ~"
    folder.mkdir()
    path = folder / "it's $HOME.txt.c11"
    path.write_bytes(files.encrypt_bytes(b"hello", [temp.public], temp))
    hint_reencrypt(str(path), [temp])
    err = capsys.readouterr().err
    command = err[err.index("c11 reencrypt") :].strip()
    args = shlex.split(command)
    assert args[-1] == str(path)  # one argument, exactly the path: nothing of it runs in the shell
    assert args[:2] == ["c11", "reencrypt"] and "--remove" in args
