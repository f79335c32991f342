"""MkDocs hook (see mkdocs.yml): figures, result tables and numbers from the package's
runs."""

from airoad_book.site import (  # noqa: F401
    on_build_error,
    on_config,
    on_env,
    on_files,
    on_page_content,
    on_page_markdown,
    on_post_build,
    on_post_page,
    on_pre_page,
    on_serve,
    on_shutdown,
    on_startup,
)
