"""Cryptographic building blocks of c11, all from pyca/cryptography: KEMs for HPKE, key schedule."""
