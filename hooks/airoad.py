"""MkDocs hook (see mkdocs.yml): figures, result tables and numbers from the package's runs."""

from airoad_book.site import on_config, on_files, on_page_content, on_page_markdown  # noqa: F401
