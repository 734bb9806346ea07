"""The benchmark suite (`make bench`): a synthetic community, an open-loop load generator driving
the Mastodon client API, scenarios, and the machine's own ceilings. See bench/README.md."""
