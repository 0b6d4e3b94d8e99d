"""Scrapy crawlers: one spider per platform, wired by settings like any Scrapy project."""
