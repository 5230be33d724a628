"""Spiders. RegistrySpider crawls any registry source; a site gets its own class only when
its discovery truly differs."""
