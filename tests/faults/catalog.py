"""The registry of faults: one row per fault, each naming the tests that prove it.

`python -m bench.reliability` checks that every test named here exists and that every test in
tests/test_faults_*.py is named by some row, runs them, and writes docs/reliability.md from
these rows and what the tests measured (tests/faults/helpers.record). A row whose `fixed` is
set is a fault that found a bug; the text says what the system did before.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    area: str
    fault: str
    did: str            # what the system does now
    check: str          # what the tests assert
    tests: tuple[str, ...]
    fixed: str = ""     # what it did before the fix (file: function)


P = "tests/test_faults_pages.py::"
PB = P + "test_bad_page_becomes_an_article_or_a_clear_rejection"
N = "tests/test_faults_network.py::"
C = "tests/test_faults_config.py::"
CB = C + "test_bad_registry_fails_naming_file_source_and_field_before_anything_runs"
K = "tests/test_faults_kill.py::"
Q = "tests/test_faults_concurrency.py::"
D = "tests/test_faults_disk.py::"
H = "tests/test_faults_hostile.py::"
CF = "tests/test_crawl_faults.py::"

FAULTS: tuple[Fault, ...] = (
    # ----------------------------------------------------------------------------- bad pages
    Fault("Bad pages", "Truncated HTML (cut mid-character, half-way through the body)",
          "a valid article from what arrived", "title and lead extracted, no replacement character in the title",
          (f"{PB}[truncated]",)),
    Fault("Bad pages", "No `<body>` element", "a valid article", "title and lead extracted",
          (f"{PB}[no-body]",)),
    Fault("Bad pages", "Tables nested 1,000 deep around the text",
          "rejected `unparseable`: \"the parser stopped: Excessive depth in document: 256\" (libxml2's limit "
          "bounds what a hostile page costs); an article followed by such junk is still an article",
          "reason and detail; the article before the junk is loaded",
          (f"{PB}[nested-tables]", f"{PB}[nested-after]"),
          fixed="rejected `no_text` \"body too short (4 chars)\", hiding why (flows/extract.py: extract)"),
    Fault("Bad pages", "20 MB bodies",
          "the crawler cancels a body over its 16 MB cap (`too_large`, not retried); a bigger body already in "
          "the archive is rejected `too_large` before parsing; a 10 MB page under a source's own cap is an article",
          "not archived by the crawl; rejected in under 5 s; the 10 MB page loads",
          (f"{CF}test_response_size_cap_with_and_without_content_length", f"{P}test_twenty_megabyte_body_is_rejected_before_parsing"),
          fixed="a 20 MB page became a 6.6-million-character article (13 s); a 16 MB table page took 60 s and "
                "800 MB to parse (flows/process.py: to_record)"),
    Fault("Bad pages", "Binary served as text/html (random bytes; a zlib-compressed page without Content-Encoding)",
          "rejected `not_html`", "reason `not_html`, detail `binary body`",
          (f"{PB}[binary-as-html]", f"{PB}[deflate-as-html]"),
          fixed="compressed bytes without NULs were rejected `no_text` (flows/extract.py: extract)"),
    Fault("Bad pages", "PDF / DOC attachments where an article was linked (PDF, PDF as text/html, .doc, .docx as "
          "octet-stream), and attachment links inside an article",
          "blocked `not_html` by the crawler, rejected `blocked`; links go to `attachments`, not the body",
          "reason and detail; 2 attachments listed, their names not in the text",
          (f"{PB}[pdf]", f"{PB}[pdf-as-html]", f"{PB}[doc]", f"{PB}[docx-octet]", f"{PB}[attachments]")),
    Fault("Bad pages", "Wrong charset (GBK bytes said utf-8; UTF-8 said gb2312; UTF-8 said utf-16)",
          "a valid article, decoded by what the bytes are", "the exact title; the encoding used",
          (f"{PB}[gbk-said-utf8]", f"{PB}[utf8-said-gb2312]", f"{PB}[charset-utf16-lie]")),
    Fault("Bad pages", "A charset that is no text encoding (charset=base64, idna)",
          "the crawler reads it as UTF-8 and archives it; extraction ignores the label: a valid article",
          "the exact title, encoding utf-8, in the end-to-end run too",
          (f"{PB}[charset-base64]", f"{PB}[charset-idna]",
           f"{P}test_a_run_over_every_bad_page_completes_and_accounts_for_each"),
          fixed="extraction raised LookupError/UnicodeError, which stopped the whole `process` run, and every "
                "re-run at the same page (flows/decode.py: _norm); the crawler dropped the page unarchived on "
                "every crawl (Scrapy's meta-refresh check raised; crawlers/middlewares.py: CharsetGuardMiddleware)"),
    Fault("Bad pages", "Missing charset (GBK, declared nowhere)", "a valid article", "the exact title",
          (f"{PB}[gbk-no-charset]",)),
    Fault("Bad pages", "Mixed GBK/UTF-8 bytes (a GBK name pasted into a UTF-8 page)",
          "patched character by character (`utf-8+gbk`), the name read, also when the HTTP header vouches for "
          "UTF-8 (of all readings, the one with the fewest errors)",
          "encoding, the name in the text",
          (f"{PB}[mixed-gbk-utf8]", f"{PB}[mixed-said-utf8]")),
    Fault("Bad pages", "A UTF-8 page with a few broken bytes (a truncated character, one stray byte, cut off) "
          "that declares gb2312",
          "read as UTF-8 with the broken bytes replaced; never a GBK/GB18030 reading the quality check calls mojibake",
          "encoding utf-8[:replace], the text readable, no `mojibake` flag",
          ("tests/test_decode.py::test_a_utf8_page_with_a_stray_byte_and_a_gb2312_claim_is_not_mojibake",),
          fixed="decoded as GBK/GB18030 with replacement: the whole page mojibake, flagged `mojibake` and kept, "
                "title and body lost (flows/decode.py: decode_html)"),
    Fault("Bad pages", "Big5 bytes with no charset declared (Hong Kong / Taiwan pages)",
          "read as Big5 (GBK reads those bytes without an error, as mojibake)", "encoding big5, the text readable",
          ("tests/test_decode.py::test_big5_pages_are_read_as_big5",),
          fixed="decoded as GBK: every character wrong (flows/decode.py: decode_html)"),
    Fault("Bad pages", "Empty 200, or a 200 of whitespace", "rejected `empty`", "reason",
          (f"{PB}[empty]", f"{PB}[blank]")),
    Fault("Bad pages", "Soft 404s (a small \"page does not exist\"; the same inside the site's full navigation, "
          "over 6 kB)",
          "small: blocked `soft_404` by the crawler; in the site chrome: rejected `blocked`/`soft_404` by processing",
          "reason and detail",
          (f"{PB}[soft-404]", f"{PB}[soft-404-chrome]", f"{CF}test_blocked_pages_are_archived_with_their_reason"),
          fixed="the big one was loaded as an article titled with the site's name, its text the menu "
                "(flows/process.py: to_record; flows/extract.py: _body_from_trafilatura)"),
    Fault("Bad pages", "A page whose text is all navigation", "rejected `no_text`", "reason",
          (f"{PB}[all-navigation]",),
          fixed="loaded as an article of 120 menu labels (trafilatura's fallback keeps link lists; "
                "flows/extract.py: _body_from_trafilatura)"),
    Fault("Bad pages", "Error statuses and redirects that were not followed, archived as article pages",
          "rejected `http_error` with the status (and the target a redirect pointed to)", "reason and detail",
          (f"{P}test_an_error_or_unfollowed_redirect_is_an_http_error",),
          fixed="a 3xx was rejected as `empty` (flows/process.py: to_record)"),
    Fault("Bad pages", "All of the above in one run, over HTTP (crawl, archive, process), then processed again",
          "the run completes; each page is in `articles` or in `rejected` (never both) with the expected reason; "
          "processing the archive again adds and changes nothing",
          "every page accounted for once; counts per outcome",
          (f"{P}test_a_run_over_every_bad_page_completes_and_accounts_for_each",
           f"{P}test_the_same_archive_processed_again_changes_nothing")),
    # ----------------------------------------------------------------------------- bad network
    Fault("Bad network", "Connection reset before any byte, once", "retried, then archived and loaded",
          "2 requests; the article loaded", (f"{N}test_connection_reset_once_is_retried_and_loaded",)),
    Fault("Bad network", "Connection reset every time; reset half-way through a body whose Content-Length "
          "promised more", "retried, then counted `connection_lost` / `data_loss`; nothing partial archived; the "
          "next crawl fetches them", "errors by kind; no 200 record that is not the whole body",
          (f"{N}test_each_network_fault_is_counted_under_its_kind_and_the_crawl_ends",
           f"{N}test_nothing_truncated_or_failed_is_archived_as_a_page")),
    Fault("Bad network", "Timeouts (a server that accepts and never answers)",
          "retried, then counted `timeout`; the crawl ends", "errors by kind; the crawl ends in under a minute",
          (f"{N}test_each_network_fault_is_counted_under_its_kind_and_the_crawl_ends",
           f"{CF}test_slow_page_times_out_after_retries_and_a_slower_one_within_the_timeout_is_kept")),
    Fault("Bad network", "5xx storm (every article 503, 500 or 502 for the whole run)",
          "each retried twice with backoff (0.1 s, then 0.2 s), the last 5xx archived and rejected `http_error`, "
          "never loaded; the run is flagged `mostly_errors`", "request count and spacing; rejections; nothing loaded",
          (f"{N}test_5xx_storm_is_retried_with_backoff_then_rejected_not_loaded",)),
    Fault("Bad network", "429 with Retry-After", "waits Retry-After (seconds or an HTTP date) when longer than the "
          "backoff, at most 60 s", "request spacing >= Retry-After; the date form; the cap",
          (f"{CF}test_retries_back_off_and_honour_retry_after", f"{N}test_retry_after_seconds_or_http_date_and_capped")),
    Fault("Bad network", "Redirect loop (a -> b -> a ...)", "gives up after 5 hops and counts `redirect_loop`; the "
          "next crawl tries again", "errors by kind; hops bounded",
          (f"{N}test_redirect_loop_gives_up_and_offsite_redirect_is_never_followed",),
          fixed="counted only as a skipped request (\"ignored\"), no error (crawlers/spiders/registry_spider.py: on_error)"),
    Fault("Bad network", "Redirect off the allowed domains", "never followed: the 3xx is archived, counted "
          "`redirect_offsite` and rejected `http_error` naming the target",
          "the other host received 0 requests", (f"{N}test_redirect_loop_gives_up_and_offsite_redirect_is_never_followed",
                                                  f"{CF}test_redirect_chain_followed_and_other_domain_not")),
    Fault("Bad network", "A server that dribbles bytes", "within the timeout: kept whole; past it: `timeout`, "
          "nothing partial archived", "archived bodies equal what was served",
          (f"{N}test_nothing_truncated_or_failed_is_archived_as_a_page",)),
    Fault("Bad network", "The faults clear (the server heals)", "the next crawl fetches exactly what failed, "
          "nothing else", "requests = the failed URLs; every article loaded once",
          (f"{N}test_after_the_server_heals_the_next_crawl_fetches_exactly_what_failed",)),
    # ----------------------------------------------------------------------------- bad config
    Fault("Bad config", "Registry entry with a typo'd key (`article_patern`)", "`newsflow ingest --mirror` exits 1 "
          "with one line naming file, source and field", "message; no file written, no Prefect, no crawl",
          (f"{CB}[typo'd key]",)),
    Fault("Bad config", "A bad regex (`article_pattern`)", "`newsflow crawl` exits 1 with one line naming file, "
          "source and field; the crawl process itself exits 2 the same way",
          "message; no file written", (f"{CB}[bad regex]", f"{C}test_the_crawl_process_refuses_a_bad_registry_too")),
    Fault("Bad config", "A missing URL (`start_urls`), or a bad one (`base_url` without http://)",
          "`newsflow process` / `newsflow sources` exit 1 naming file, source and field", "message; no file written",
          (f"{CB}[missing URL]", f"{CB}[bad URL]",
           "tests/test_registry.py::test_missing_field_and_bad_toml")),
    # ----------------------------------------------------------------------------- kill -9
    Fault("Kill -9", "During the crawl (`newsflow crawl` and its crawl process), and a torn last record",
          "the archive reads to its last whole record; a torn tail is detected, reported and skipped; the next "
          "crawl resumes the same run, cuts the tail off and fetches only what is missing",
          "every article archived once; nothing archived is fetched again",
          (f"{K}test_kill_during_crawl_leaves_a_readable_archive_and_a_torn_tail_is_skipped",
           f"{K}test_the_next_crawl_resumes_the_killed_run_and_fetches_only_what_is_missing",
           "tests/test_archive.py::test_torn_last_record_is_detected_and_skipped")),
    Fault("Kill -9", "During extraction (`newsflow process`, archive open, warehouse not yet)",
          "the warehouse is untouched; the next `newsflow ingest` loads the run the killed process never loaded",
          "file unchanged; then 200 of 200 articles once, all tagged and indexed",
          (f"{K}test_kill_during_extraction_leaves_the_warehouse_untouched",
           f"{K}test_the_next_ingest_loads_what_the_killed_process_never_did"),
          fixed="the ingest flow processed only the runs it had just crawled; the killed run was recorded, so "
                "its URLs were known and never fetched again: all 200 articles lost to every later ingest "
                "(flows/ingest.py: crawl_task; flows/steps.py: unprocessed_runs)"),
    Fault("Kill -9", "During the load (`newsflow process` holding the warehouse)",
          "the warehouse opens with whole batches only; the next `newsflow process` completes it",
          "0 or all articles; every article tagged, no orphan tags, postings or search docs; then each once, "
          "all indexed", (f"{K}test_kill_during_load_leaves_whole_batches_only",
                          f"{K}test_the_next_process_completes_the_load_exactly_once")),
    # ----------------------------------------------------------------------------- concurrency
    Fault("Two at once", "Two `newsflow ingest` on one warehouse", "the second waits for the run lock "
          "(\"waiting for the run in progress\") and then finds nothing new", "each article once",
          ("tests/test_flows.py::test_overlapping_ingests_queue_and_duplicate_nothing",)),
    Fault("Two at once", "Two crawls of one source (`newsflow crawl` twice)",
          "the second refuses: \"another crawl of gxzf is running (lock file …)\", exit 1; the first finishes alone",
          "one WARC file, each article archived and fetched once",
          (f"{Q}test_a_second_crawl_of_a_source_refuses_while_the_first_runs",),
          fixed="the second took the first's unfinished WARC file for a killed run and resumed it: two processes "
                "appending to one file (163 of 200 article records duplicated, stats and state overwritten) "
                "(crawlers/run.py: lock_source)"),
    Fault("Two at once", "Two `newsflow process` on one warehouse", "both complete (DuckDB lets one write; the other "
          "retries)", "each article once, no orphan rows", (f"{Q}test_two_process_runs_at_once_load_every_article_once",)),
    # ----------------------------------------------------------------------------- disk full
    Fault("Disk full", "While writing the archive (RLIMIT_FSIZE: EFBIG)",
          "the crawl stops at the first failed write: \"error: cannot write the archive …: [Errno 27] File too "
          "large\", exit 1; the half-written record is cut off; the run's stats say `failed`; the next crawl "
          "pages past known pages and fetches the rest",
          "whole records only; then every article archived once",
          (f"{D}test_archive_disk_full_is_a_clear_error_and_leaves_whole_records",
           f"{D}test_after_the_archive_disk_full_a_rerun_fetches_the_rest"),
          fixed="the crawl went on fetching pages it could not keep, left a torn record and no stats "
                "(\"crawler crashed?\"); then the next crawl stopped paging at the first known list page and "
                "never fetched the other 49 of 100 articles, as after any crawl that stopped early (Ctrl-C too) "
                "(crawlers/archive.py: ArchiveWriter.write; crawlers/extension.py: response_received; "
                "crawlers/run.py: main; crawlers/state.py: load_source_state)"),
    Fault("Disk full", "While writing the warehouse (RLIMIT_FSIZE: the commit fails; the checkpoint fails)",
          "\"error: cannot write …: Failed to commit / Failed to create checkpoint … File too large\", exit 1, no "
          "traceback; the file opens (a committed WAL replays); with room again the re-run completes",
          "0 or all articles, no orphan rows; then each once, all indexed",
          (f"{D}test_warehouse_disk_full_is_a_clear_error_and_the_file_stays_consistent[load]",
           f"{D}test_warehouse_disk_full_is_a_clear_error_and_the_file_stays_consistent[checkpoint]"),
          fixed="a traceback (TransactionException, FatalException), once masked by the ROLLBACK that failed after "
                "it (\"no transaction is active\") (warehouse/store.py: connect, publish_snapshot)"),
    Fault("Disk full", "A really full disk (a 200 kB tmpfs: ENOSPC for archive, stats, state, log and warehouse)",
          "\"error: cannot write the archive …: [Errno 28] No space left on device\"; after remounting bigger, the "
          "crawl resumes the run and processing completes", "whole records; every article once (skipped without root)",
          (f"{D}test_a_really_full_disk_tmpfs",)),
    Fault("Load", "A query running over 2 s while a command writes JSON or CSV to stdout (found by the "
          "20,000-page soak, bench/bench_soak.py)", "DuckDB's progress bar is off on every connection: stdout "
          "holds only the output", "the setting on read-write and read-only connections; JSON output parses",
          ("tests/test_faults_load.py::test_no_progress_bar_on_any_connection",),
          fixed="DuckDB drew its progress bar on stdout, so the soak's `newsflow ingest --json` printed two bars "
                "before the JSON (warehouse/store.py: connect)"),
    Fault("Load", "Thousands of templated pages (notices that differ by a name or a number; found by the "
          "20,000-page soak, where the ingest peaked at 3,973 MB)", "dedupe probes the best 4 stored copies of "
          "each of an article's best 32 stories, estimates candidate pairs 65k at a time, and loads 2,000 "
          "records per transaction: the soak's ingest peaks at 1,177 MB",
          "a new copy of a 300-page story is probed against at most 4 of them and still joins the story",
          ("tests/test_dedupe.py::test_templated_pages_probe_a_bounded_number_of_stored_copies",),
          fixed="every stored copy came back as a candidate with its signature (6.5 GB for 20,000 pages in "
                "chunks of 5,000), every candidate pair's signatures were gathered at once (3.5 GB) and a load "
                "transaction held 20,000 records with their tokens (2.3 GB) (warehouse/clusters.py: "
                "lsh_candidates; flows/dedupe.py: dedupe_batch; flows/steps.py: CHUNK)"),
    # ----------------------------------------------------------------------------- hostile
    Fault("Hostile content", "Script injection in titles (and in 来源)", "stored as the page's text; the report "
          "escapes it", "no `<script`/`<img` in the report, the escaped title present",
          (f"{H}test_script_in_a_title_is_stored_as_text_and_escaped_in_the_report",
           "tests/test_report.py::test_every_web_string_is_escaped")),
    Fault("Hostile content", "SQL-looking text in fields and in arguments", "stored verbatim and searchable; "
          "search/export filters with quotes select nothing; `newsflow sql \"DROP TABLE articles\"` is refused "
          "(read-only)", "values round-trip; row count unchanged",
          (f"{H}test_sql_in_fields_is_data_and_sql_looking_arguments_are_harmless",)),
    Fault("Hostile content", "File names from URLs and headers (`..%2F..%2F`, `%2e%2e%2f`, a 200-character name, "
          "Content-Disposition `../../../../tmp/owned.html`)", "URLs stay data; the archive holds only its own "
          "files", "no file outside the run's folder; each URL accounted for once",
          (f"{H}test_names_from_urls_and_headers_never_become_paths_outside_the_archive",)),
    Fault("Hostile content", "A registry source name that climbs out of the archive folder (`../../gxzf`)",
          "refused like any bad entry, naming file, source and field", "message; no file written",
          (f"{CB}[name leaving the archive]",),
          fixed="accepted: its WARC files would have gone to archive/../../gxzf/ (crawlers/registry.py: load_registry)"),
)
