"""Notification outbox: emails are rows written in the same transaction as the change that causes them.

A delivery step (`delivery.deliver_pending`) hands pending rows to a pluggable `Transport`.
"""
