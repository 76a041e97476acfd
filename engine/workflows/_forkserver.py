"""Imported only by the batch's fork server (the preload list in batch._context), before the
server saves the signal handlers its children get: the workers it forks start with Ctrl-C
ignored, so an interrupted batch prints no worker tracebacks (the parent stops the workers)."""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
