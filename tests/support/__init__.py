"""Helpers the tests share: an isolated broker vhost and Redis prefix per run,
and real service processes started on them."""
