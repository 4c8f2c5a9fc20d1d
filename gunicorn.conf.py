"""gunicorn settings for production: threaded workers, so slow streams don't block others."""

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# A listener holds a thread for the length of its call: many threads, most of them waiting on
# a socket, and AUDIO_STREAMS_PER_PROCESS (112) of them at most for audio (bench/README.md).
threads = int(os.environ.get("GUNICORN_THREADS", "128"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# The access log shows our own paths only; upstream URLs (with the credentials) never pass here.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
