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
R = "tests/test_faults_reads.py::"
X = "tests/test_faults_export.py::"
RN = "tests/test_faults_runs.py::"
PF = "tests/test_faults_prefect.py::"
RV = "tests/test_faults_revisions.py::"
RE = "tests/test_revisions_e2e.py::"
LW = "tests/test_lake_writers.py::"
LK = "tests/test_scale_lake.py::"
WP = "tests/test_scale_pools.py::"
DK = "tests/test_scale_dask.py::"
S3 = "tests/test_scale_s3.py::"
WB = "tests/test_web.py::"

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
          "source and field; the crawl process itself exits 1 the same way (the error table's code)",
          "message; no file written", (f"{CB}[bad regex]", f"{C}test_the_crawl_process_refuses_a_bad_registry_too"),
          fixed="the crawl process exited 2 for a registry error (and for a full disk) where the CLI exits 1 "
                "(crawlers/run.py: main)"),
    Fault("Bad config", "A missing URL (`start_urls`), or a bad one (`base_url` without http://)",
          "`newsflow process` / `newsflow sources` exit 1 naming file, source and field", "message; no file written",
          (f"{CB}[missing URL]", f"{CB}[bad URL]",
           "tests/test_registry.py::test_missing_field_and_bad_toml")),
    Fault("Bad config", "The machine's clock zone is not Asia/Shanghai (a server on UTC)",
          "the report's header gives when it was made in Asia/Shanghai with the offset (UTC+08:00), like every "
          "time in it", "with TZ=UTC the header's time is now in Asia/Shanghai",
          ("tests/test_report.py::test_generated_time_is_shanghai_whatever_the_machine_zone",),
          fixed="'Generated' was the machine's local time (UTC on a server) under 'times are Asia/Shanghai' "
                "(flows/report.py: make_report)"),
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
    Fault("Kill -9", "The parent alone killed while its children run: `newsflow ingest` (its ephemeral Prefect "
          "server, its crawl process), `newsflow serve` mid-run (its Prefect server, the flow-run process, that "
          "run's crawl)", "each child watches its parent (a pidfd) and stops itself: SIGTERM, SIGKILL 5 s later "
          "(flows/lifeline.py)", "every child gone and the server's port closed within 15 s; the warehouse whole",
          (f"{PF}test_a_killed_ingest_leaves_no_prefect_server_or_crawl",
           f"{PF}test_a_killed_serve_leaves_no_server_flow_run_or_crawl"),
          fixed="Prefect's temporary uvicorn server kept listening for over an hour after its `newsflow ingest` "
                "was killed, and serve's server, flow runs and crawls lived on (flows/ingest.py: one_off; "
                "flows/serve.py: local_server; flows/crawl.py: crawl)"),
    # ----------------------------------------------------------------------------- scheduling
    Fault("Scheduling", "Ctrl-C in a terminal (a pty: ^C, SIGINT to the foreground process group) while "
          "`newsflow serve` runs a scheduled ingest; SIGTERM to serve alone",
          "\"newsflow serve: stopping\": the run in progress is cancelled (Prefect's cancel, its load rolled "
          "back), schedules paused, then the server stopped; a second signal, or 20 s, kills what is left",
          "exit 0 within 20 s, no traceback, none of serve's processes left, the warehouse whole; forced: exit "
          "130, a run that ignores SIGTERM and its child killed too",
          (f"{PF}test_ctrl_c_in_a_terminal_stops_serve_mid_run_within_seconds",
           "tests/test_flows.py::test_serve_runs_a_schedule_against_the_mirror_and_stops_cleanly_on_sigterm",
           f"{PF}test_a_second_ctrl_c_or_a_stop_past_its_grace_kills_what_is_left"),
          fixed="serve survived two Ctrl-C and a SIGTERM (only SIGKILL stopped it); SIGINT to the main process "
                "alone exited after ~65 s with ~250 lines of tracebacks (flows/serve.py: serve, local_server)"),
    Fault("Scheduling", "The README's server path: `prefect server start`, `prefect work-pool create newsflow "
          "--type process`, `prefect deploy --all`, `prefect deployment ls`, `prefect worker start --pool newsflow`",
          "all 7 deployments register; a worker runs the run a schedule created, and it loads the mirror",
          "workers/filter with null limit/offset answers 200; the run is auto-scheduled and Completed; its "
          "articles are in the test warehouse once",
          (f"{PF}test_readme_server_path_deploys_and_a_worker_runs_a_scheduled_ingest",),
          fixed="`prefect deploy --all` and `prefect deployment ls` failed with 422 (`'limit' Input should be a "
                "valid integer`): Prefect 3.8.8's client sends `\"limit\": null`, which FastAPI from 0.151 "
                "validates as an int instead of using the default (pyproject.toml, requirements.lock: fastapi "
                "0.154.0 -> 0.150.0)"),
    # ----------------------------------------------------------------------------- concurrency
    Fault("Two at once", "Two `newsflow ingest` on one warehouse", "the second waits for the run lock "
          "(\"waiting for the run in progress\") and then finds nothing new", "each article once",
          ("tests/test_flows.py::test_overlapping_ingests_queue_and_duplicate_nothing",)),
    Fault("Two at once", "Two crawls of one source (`newsflow crawl` twice)",
          "the second refuses: \"another crawl of gxzf is running (lock file …)\", exit 4 (Busy); the first finishes alone",
          "one WARC file, each article archived and fetched once",
          (f"{Q}test_a_second_crawl_of_a_source_refuses_while_the_first_runs",),
          fixed="the second took the first's unfinished WARC file for a killed run and resumed it: two processes "
                "appending to one file (163 of 200 article records duplicated, stats and state overwritten) "
                "(crawlers/run.py: lock_source)"),
    Fault("Two at once", "Two `newsflow process` on one warehouse", "both complete: the second waits for the run "
          "lock", "each article once, no orphan rows", (f"{Q}test_two_process_runs_at_once_load_every_article_once",)),
    Fault("Two at once", "A load holds the warehouse while an analyst reads (`sql`, `search`, `runs`, `export`, "
          "`report`)", "each waits 5 s, then reads the snapshot the last load published and says so on stderr "
          "(\"note: a load holds …: read its snapshot … (published …)\"); the report's header names the file it "
          "read; with no snapshot yet: \"error: … is held by another process (waited 5s), and it has no snapshot "
          "to read instead\", exit 4", "exit 0 and the note for all five, run at once; their rows are the "
          "snapshot's, not the warehouse's; exit 4 without a snapshot",
          (f"{R}test_every_read_command_reads_the_snapshot_while_a_load_holds_the_warehouse",),
          fixed="only `sql` read the snapshot; `search`, `runs`, `export` and `report` waited 30 s and failed "
                "with exit 4, and nothing said which file a command had read (warehouse/store.py: query, "
                "last_query_source; flows/index.py: search; flows/report.py: make_report; warehouse/export.py: "
                "export)"),
    Fault("Two at once", "`newsflow process` while `newsflow crawl` writes its WARC file",
          "the process leaves the growing file alone (\"its crawl is still running; loaded when it has finished\"); "
          "the crawl records its run after the process (run lock); the next process loads it",
          "each article once; the run counts every article as new",
          (f"{RN}test_process_beside_a_running_crawl_loads_every_article_once",),
          fixed="`process` took no lock and read the WARC file a crawl was still appending to (a torn tail "
                "reported, the run loaded before it was recorded, so its counts missed those articles) "
                "(flows/steps.py: _prepare_files; crawlers/run.py: crawl_in_progress)"),
    Fault("Two at once", "`newsflow process` while an ingest (or another process) runs on the warehouse",
          "waits for the run lock, saying \"waiting for the run in progress (pid …)\"; with `--wait 1` gives up: "
          "one line, exit 4", "exit 4 then 0; every article once; no lock file left",
          (f"{RN}test_process_waits_for_a_run_holding_the_warehouse",),
          fixed="`process` took no run lock: beside an ingest the two interleaved their loads, untested "
                "(flows/cli.py: process)"),
    # ----------------------------------------------------------------------------- runs, paths, locks (issue 18)
    Fault("What users type", "`newsflow process` again over runs already processed (README: \"safe\")",
          "each run's new/updated/rejected stay what the pass that first processed it found (`processed_at`); "
          "a later pass changes nothing in `crawl_runs`", "the first run still says 30 new, the second 0; "
          "yield_per_run 15; every article once",
          (f"{RN}test_processing_again_keeps_each_runs_counts", "tests/test_warehouse.py::test_rejected_and_crawl_runs_idempotent"),
          fixed="every pass rewrote the counts of every run it read: earlier runs became 0 new, so `runs`, "
                "`source_health.yield_per_run` and the report's new / run said 0 (flows/steps.py: process_archives; "
                "warehouse/store.py: update_run_counts)"),
    Fault("What users type", "A pass that dies half-way through its load (chunks of 7, dies after 20 records)",
          "each chunk adds its share of the run's counts in its own transaction; the next pass adds the rest",
          "14 counted after the death, 30 in the end", (f"{RN}test_a_pass_that_dies_mid_load_keeps_what_it_counted",),
          fixed="the counts were written once at the end of a pass: the next pass found the committed chunks "
                "unchanged and said 16 new (flows/steps.py: process_archives)"),
    Fault("What users type", "`process` killed between its load and its dedupe",
          "the articles show as `dedupe_pending:N` in `newsflow runs` and `source_health.dedupe_pending`; the next "
          "process or ingest dedupes every article not yet in a story", "30 pending, then 0; 30 deduped",
          (f"{RN}test_articles_never_deduped_show_as_pending_and_the_next_process_dedupes_them",),
          fixed="the next pass deduped only what it had just loaded: the articles stayed without a story, and "
                "nothing said so (flows/steps.py: process_archives)"),
    Fault("What users type", "A bad `--db` (a folder; a file that is no DuckDB warehouse) or a read-only folder "
          "(the warehouse's, the archive's) for `ingest`, `process`, `crawl`",
          "one line naming the path and why (\"… is not writable: read-only file system\"), exit 1, before any lock, "
          "Prefect start or crawl; nothing left behind",
          "exit 1, one `error:` line, no traceback, no `starting the ingest flow`, the folder as it was",
          tuple(f"{RN}test_a_bad_path_is_one_line_before_anything_starts[{c}]" for c in (
              "db-is-a-folder", "db-not-duckdb", "db-folder-read-only", "process-db-folder-read-only",
              "archive-read-only", "crawl-archive-read-only")),
          fixed="`ingest` with a bad `--db` failed after Prefect started (10-14 s) and left `<name>.lock`; a "
                "read-only folder gave a bare `OSError: [Errno 30]` from the lock file, and a read-only `--archive` "
                "two tracebacks and a pointer to a log file that could not exist (flows/cli.py; flows/lock.py; "
                "flows/preflight.py; flows/crawl.py)"),
    Fault("What users type", "`ingest` while another process holds the warehouse file (an analyst's DuckDB session)",
          "waits `--wait` seconds (default 30), then \"error: … is held by another process\", exit 4, nothing on "
          "stdout, before Prefect starts", "exit 4, one line, no traceback",
          (f"{RN}test_a_warehouse_another_process_holds_is_exit_4_before_prefect",),
          fixed="failed in the crawl step inside Prefect, with tracebacks on stderr (flows/cli.py: ingest)"),
    Fault("What users type", "A flow run (a deployment, no CLI in front) on a warehouse in a read-only folder",
          "LockUnavailable: \"cannot create the run lock …: the folder is read-only (Read-only file system)\"",
          "the named error and its message", (f"{RN}test_the_run_lock_in_a_read_only_folder_is_a_named_error",),
          fixed="a bare `OSError: [Errno 30] Read-only file system` from the lock file (flows/lock.py: run_lock)"),
    Fault("What users type", "The archive moved or copied elsewhere (another folder, machine, object storage); a "
          "warehouse from before, with absolute paths",
          "WARC files are stored relative to the archive root (`gxzf/<run>.warc.gz`) and resolved against "
          "`--archive` when read (reextract, process, the next ingest, stats files); migration 9 converts old "
          "paths in the archive layout; old absolute paths are looked for in the archive by `<source>/<file>`",
          "30 pages re-extracted, 0 missing, with new and with old stored paths; the migration's conversions",
          (f"{RN}test_reextract_finds_raw_pages_after_the_archive_moved",
           f"{RN}test_the_migration_makes_stored_warc_paths_archive_relative"),
          fixed="`reextract` read the absolute `warc_path` stored at load time and ignored `--archive`: a moved "
                "archive looked like 30 missing raw pages (flows/reextract.py; crawlers/archive.py: location, resolve)"),
    Fault("What users type", "A live ingest of a source that cannot be reached (off line: `dns`; here a closed port)",
          "the summary prints why per source (\"gxzf failed: no list page could be read …; errors: "
          "connection_refused 1\"); the alert fires with no traceback; no WARC file for a run that archived "
          "nothing; `sources check` prints \"-> not fetched: dns: …\"",
          "exit 3; the reason in the summary; no `Traceback`; no 0-byte WARC; the clean check lines",
          (f"{RN}test_an_unreachable_source_says_why_in_the_summary_without_a_traceback",
           f"{RN}test_a_failed_fetch_names_its_kind", f"{RN}test_no_empty_warc_file_for_a_run_that_archived_nothing"),
          fixed="the summary said \"failed … errors 1\" (the reason only in `newsflow runs`), Prefect logged a "
                "SourcesFailing traceback, each failed run left a 0-byte WARC, and `sources check` printed "
                "`HTTP [Errno -3] ..., , 0 bytes, ?` (flows/ingest.py: ingest_flow; crawlers/archive.py: "
                "ArchiveWriter; crawlers/check.py: fetch; flows/cli.py: _print_check)"),
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
    Fault("Hostile content", "A `javascript:` (or any non-http) article URL", "the report links only http(s) "
          "URLs, escaped; the story is listed unlinked", "no `javascript:` in any href of the report",
          ("tests/test_report.py::test_self_contained_and_escaped",
           "tests/test_report.py::test_every_web_string_is_escaped")),
    Fault("Hostile content", "SQL-looking text in fields and in arguments", "stored verbatim and searchable; "
          "search/export filters with quotes select nothing; `newsflow sql \"DROP TABLE articles\"` is refused "
          "(read-only)", "values round-trip; row count unchanged",
          (f"{H}test_sql_in_fields_is_data_and_sql_looking_arguments_are_harmless",)),
    Fault("Hostile content", "File names from URLs and headers (`..%2F..%2F`, `%2e%2e%2f`, a 200-character name, "
          "Content-Disposition `../../../../tmp/owned.html`)", "URLs stay data; the archive holds only its own "
          "files", "no file outside the run's folder; each URL accounted for once",
          (f"{H}test_names_from_urls_and_headers_never_become_paths_outside_the_archive",)),
    # ----------------------------------------------------------------------------- what analysts type
    Fault("Analyst input", "`newsflow sql` statements that write: COPY TO the warehouse, its snapshot or the "
          "working directory, EXPORT DATABASE, ATTACH, INSTALL/LOAD, SET/RESET of the sandbox's settings, "
          "EXPLAIN ANALYZE COPY, a COPY after a SELECT, PREPARE … COPY, DROP TABLE",
          "refused before anything runs: \"error: `newsflow sql` is read-only: COPY statements are not allowed "
          "(…)\", exit 1 (DuckDB's parser names each statement's kind; external access is off and the "
          "configuration locked, so a SET cannot turn it back)",
          "one-line error; every file under the working directory unchanged; no article lost",
          (f"{R}test_analyst_sql_writes_no_file",),
          fixed="`COPY (SELECT 1) TO 'data/newsflow.duckdb'` replaced the warehouse with a 4-byte CSV (every "
                "later command: \"not a valid DuckDB database file\"); COPY, EXPORT DATABASE and EXPLAIN ANALYZE COPY "
                "wrote files anywhere, INSTALL tried to download the extension from the network "
                "(flows/cli.py: sql; warehouse/store.py: query)"),
    Fault("Analyst input", "`newsflow sql` reading files outside the working directory: `read_text('/etc/shadow')`, "
          "`read_csv('/etc/passwd')`, `glob('/etc/*')`, `../` paths, a symlink to /etc in the working directory",
          "refused by DuckDB (`enable_external_access = false`, `allowed_directories` = the working directory and "
          "any `--read-dir`): \"error: cannot read /etc/shadow: `newsflow sql` reads files only under …\", exit 1; "
          "Parquet/CSV/JSON under the working directory or a `--read-dir` folder read as before",
          "one-line error, no content printed; the named files under the allowed folders read (relative, "
          "absolute, globbed, joined with articles)",
          (f"{R}test_analyst_sql_reads_no_file_outside_the_allowed_folders",
           f"{R}test_analyst_sql_reads_the_files_it_names_under_the_working_directory_and_read_dirs"),
          fixed="read any file the user could, /etc/shadow included (flows/cli.py: sql)"),
    Fault("Analyst input", "Numbers out of range and empty queries (`search --limit -5`, `--limit 0`, `runs --limit "
          "0`, `crawl`/`ingest --max-pages 0`, `sql --max-width 0`, `search` of punctuation only)",
          "a usage error naming the option (\"Invalid value for '--limit': -5 is not in the range x>=1\"), exit "
          "2, before anything is crawled or read", "exit 2, no traceback, no file written",
          (f"{R}test_a_value_out_of_range_is_a_usage_error",),
          fixed="`search --limit -5` printed a BinderException traceback; `--limit 0` answered \"0 hit(s)\"; "
                "`crawl --max-pages 0` was accepted and crawled (flows/cli.py: search, runs, crawl, ingest, sql)"),
    Fault("Analyst input", "An unknown `--source` or `--topic` (`search`, `export`, `runs`, `retag`, `reextract`, "
          "`crawl`, `ingest`)", "\"error: unknown source 'nosuch'; known: …\" (topics: the taxonomy's and any "
          "the warehouse was tagged with), exit 1, in every command", "one-line error naming the known values; "
          "no file written", (f"{R}test_an_unknown_source_or_topic_is_an_error_in_every_command",),
          fixed="`search`, `export`, `runs` and `retag` answered an empty result with exit 0 (`export` wrote an "
                "empty file) (flows/cli.py: search, export, runs, retag)"),
    Fault("Analyst input", "`search \"碳中和 东盟\"`: what a query of several words means",
          "articles with every word (`--any`: one of them); stderr gives the total that match, not the limit "
          "(\"6 article(s) match, showing the best 2\")", "every hit has both words; the totals with and "
          "without --any are the counts of matching articles",
          (f"{R}test_search_means_every_word_and_counts_all_the_matches",
           "tests/test_search.py::test_every_word_by_default_any_word_on_request_and_the_total_of_all_matches"),
          fixed="any word matched (documented nowhere) and \"20 hit(s)\" was the limit, not the number of "
                "matches (warehouse/search.py: search; flows/cli.py: search)"),
    Fault("Analyst input", "`newsflow extract` of a page that does not extract, with and without --json",
          "exit 1 either way (the JSON record carries the error)", "both exit 1",
          (f"{R}test_extract_exits_the_same_with_and_without_json",),
          fixed="exit 0 with --json, 1 without (flows/cli.py: extract)"),
    Fault("Hostile content", "A registry source name that climbs out of the archive folder (`../../gxzf`)",
          "refused like any bad entry, naming file, source and field", "message; no file written",
          (f"{CB}[name leaving the archive]",),
          fixed="accepted: its WARC files would have gone to archive/../../gxzf/ (crawlers/registry.py: load_registry)"),
    # ----------------------------------------------------------------------------- what users type: outputs
    Fault("User paths", "`export --format parquet --partition --output DIR` on an existing folder (the data folder, "
          "a folder of documents), with or without `--overwrite`; any Parquet export over 100,000 rows onto an "
          "existing file", "refused in one line, exit 1, nothing deleted: a folder is replaced only with "
          "`--overwrite` and only when its `.newsflow-export.json` marker says an earlier export wrote it and it "
          "holds nothing but `year=*/month=*/*.parquet`; exports are written under a hidden temporary name and "
          "renamed into place", "the documents, warehouse, snapshot, lock and WARC byte for byte; no success line",
          (f"{X}test_partitioned_export_never_deletes_a_folder_it_did_not_write",),
          fixed="`shutil.rmtree(DIR)`, then \"80 articles written\": pointed at the data folder it deleted the "
                "warehouse and every WARC, at a user folder their documents (warehouse/export.py: export)"),
    Fault("User paths", "`export --output` (and `report --output`, `sql \"COPY … TO\"`) naming the warehouse, its "
          "snapshot, WAL or run lock, the archive or anything inside it, a folder holding them, a symlink or hard "
          "link to the warehouse; an existing file of the user's",
          "refused in one line, exit 1 (compared after resolving symlinks, and by inode); `newsflow sql` runs no "
          "COPY or EXPORT DATABASE; an existing file is replaced only with `--overwrite`",
          "warehouse, snapshot, lock and archive byte for byte; the warehouse still opens with its 5 articles; "
          "the user's file kept, replaced only with --overwrite",
          (f"{X}test_export_and_report_never_write_over_the_warehouse_or_the_archive",),
          fixed="`export --output data/newsflow.duckdb` overwrote the warehouse with CSV, `report --output` with "
                "HTML, and `sql \"COPY articles TO 'data/newsflow.duckdb'\"` too, on a read-only connection; any "
                "existing file was overwritten silently (warehouse/export.py: export; flows/cli.py: report, sql)"),
    Fault("User paths", "Exports in CSV, JSON lines and Parquet of the same articles (a date-only article at "
          "midnight, one at 23:30, one in the first hours of a month)",
          "every time is Asia/Shanghai with its offset: `2025-01-06T00:00:00+08:00` in CSV and JSON lines, a "
          "timestamp read as +08:00 from Parquet (Arrow schema Asia/Shanghai); `year`/`month`, the partitions and "
          "`--since` are Shanghai days", "the same text in CSV and JSONL, the same instant and day in Parquet, "
          "the Shanghai month of each row",
          (f"{X}test_exports_agree_on_time_in_asia_shanghai_with_the_offset",),
          fixed="CSV gave `2025-01-06 00:00:00+08`, JSON lines `2025-01-05 16:00:00+00` and Parquet UTC for the "
                "same article: a date-only article landed on the previous day (warehouse/export.py: export)"),
    Fault("User paths", "An analyst exports `--topic carbon`", "every export carries `topics`, `places`, "
          "`partners`, `keywords` (best first), `url_original`, `images` and `attachments`: lists in Parquet and "
          "JSON lines, `;`-joined in CSV", "the tags, URLs, image captions and attachment names of the article",
          (f"{X}test_exports_carry_tags_url_original_images_and_attachments",),
          fixed="exports had none of these columns: the topic an article was selected by could not be seen "
                "(warehouse/export.py: COLUMNS)"),
    Fault("User paths", "An export onto a full disk (RLIMIT_FSIZE) or into a read-only folder (a read-only tmpfs; "
          "mode 555 when not root)", "\"error: cannot write OUTPUT: …\", exit 1; no partial file, folder or "
          "temporary left", "the message names the output, not the warehouse; the folder is empty; the warehouse "
          "unchanged", (f"{X}test_export_to_a_full_disk_names_the_output_and_leaves_nothing",
                        f"{X}test_export_to_a_read_only_folder_names_the_output"),
          fixed="\"error: cannot write data/newsflow.duckdb: … File too large\" (or \"Read-only file system\") "
                "blamed the warehouse and left DuckDB's `tmp_` file; a parent folder it could not create gave a "
                "traceback (warehouse/export.py: export)"),
    Fault("User paths", "`python -m mirror.build --out DIR` where DIR/sites holds someone's files",
          "refused in one line, exit 1; only host folders an earlier build wrote are replaced",
          "the file kept; the build's own earlier output replaced",
          (f"{X}test_mirror_build_never_deletes_a_folder_it_did_not_write",),
          fixed="`shutil.rmtree(DIR/sites)` (and DIR/faults) whatever they held (mirror/build.py: build, "
                "build_faults, build_large)"),
    # ----------------------------------------------------------------------------- re-checks
    Fault("Re-checks", "A re-check of a known article times out, answers 500/503, 429 or a 瑞数 412 challenge",
          "no takedown: the failure is counted in `article_checks` (failures, first_failure_at); a definite "
          "answer (404, 410, a redirect to the home or column page, a soft-404 or placeholder page) is needed, or "
          "the registry's `takedown_failures` over `takedown_days` (`removed`, reason `repeated_failures`, the "
          "last failure's kind in the detail)",
          "no event after one failure, nor after two within a day; the third, eight days after the first, is a "
          "takedown for each kind",
          (f"{RV}test_one_transient_failure_is_no_takedown[timeout]", f"{RV}test_one_transient_failure_is_no_takedown[http_503]",
           f"{RV}test_one_transient_failure_is_no_takedown[http_500]", f"{RV}test_one_transient_failure_is_no_takedown[http_429]",
           f"{RV}test_one_transient_failure_is_no_takedown[challenge_ruishu]",
           f"{RV}test_failures_within_the_window_only_count",
           f"{RV}test_n_failures_over_m_days_make_a_takedown_with_the_evidence[timeout]",
           f"{RV}test_n_failures_over_m_days_make_a_takedown_with_the_evidence[http_503]",
           f"{RV}test_n_failures_over_m_days_make_a_takedown_with_the_evidence[http_500]",
           f"{RV}test_n_failures_over_m_days_make_a_takedown_with_the_evidence[http_429]",
           f"{RV}test_n_failures_over_m_days_make_a_takedown_with_the_evidence[challenge_ruishu]")),
    Fault("Re-checks", "An article answers 503 for a day (the mirror's day 2), then as before",
          "it stays live: no event; day 3's answer (a 304) resets its failure count",
          "no `removed` event for it on day 2 or 3; failures 0 and last outcome not_modified after day 3",
          (f"{RE}test_the_503_page_stays_live_and_its_failure_only_counts",
           f"{RE}test_every_change_of_the_day_is_found_and_nothing_else[2]")),
    # ----------------------------------------------------------------------------- DuckLake, many writers
    Fault("DuckLake", "Four loader processes at once into one lake (PostgreSQL catalog, S3 data), their ids "
          "overlapping",
          "every write transaction bumps the lake's guard row, so overlapping ones conflict at commit and the "
          "loser reruns its chunk (recomputing what is new); without the guard the same inserts both commit",
          "articles, search docs, tag state: count = distinct = the ids asked for; each id counted new by "
          "exactly one loader; the control without the guard duplicates",
          (f"{LW}test_four_concurrent_loaders_lose_and_duplicate_nothing",
           f"{LW}test_dedupe_after_the_loads_groups_every_article_once",
           f"{LW}test_without_the_guard_concurrent_upserts_duplicate")),
    Fault("DuckLake", "A loader killed with SIGKILL mid-run on the lake",
          "its open transaction never commits; the committed chunks stay; the rerun loads the rest",
          "after the kill: whole chunks only, no duplicate; after the rerun: exact counts",
          (f"{LW}test_a_loader_killed_mid_run_then_run_again_leaves_exact_counts",)),
    Fault("DuckLake", "Two `newsflow ingest` processes at once into a new lake (both create its catalog and "
          "migrate it)",
          "the loser of the catalog creation attaches again; a migration another process committed is skipped; "
          "the result equals one ingest into a DuckDB file",
          "every table row for row equal to the file's; a re-run duplicates nothing",
          (f"{LK}test_two_workers_into_the_lake_equal_one_ingest_into_a_file",
           f"{LK}test_a_rerun_into_the_lake_duplicates_nothing"),
          fixed="the second process failed: `Failed to initialize DuckLake ... duplicate key` and then `Table "
                "with name \"article_tags\" already exists` (warehouse/lake.py: open_lake, _migrate_once)"),
    Fault("DuckLake", "A malformed warehouse URL; a PostgreSQL catalog that is down",
          "one line, exit 1, the password masked; nothing written",
          "`runs`, `sql`, `crawl`: one stderr line `error: cannot open the lake ...`, exit 1, no file created",
          (f"{LK}test_a_bad_lake_url_and_a_catalog_that_is_down_are_one_line_errors",)),
    # ----------------------------------------------------------------------------- work pools, Dask, S3
    Fault("Work pools", "A Prefect worker killed with SIGKILL mid-crawl, with its flow-run and crawl processes "
          "(a machine lost)",
          "its flow run stays Running until the automation `newsflow: crash unresponsive flow runs` sees no "
          "heartbeat (counted from the run's Running event too) within `--unresponsive-after` s and marks it "
          "Crashed; ingest-all submits the group again, the other worker resumes the crawl",
          "group states CRASHED then COMPLETED; 0 lost, 0 duplicated; every table equals a plain ingest's",
          (f"{WP}test_a_worker_killed_mid_crawl_is_marked_crashed_and_its_group_rerun_exact",),
          fixed="a run killed before its first heartbeat event reached the server stayed Running for ever and "
                "ingest-all waited out its timeout (flows/ingest_all.py: ensure_crash_automation counted from "
                "the first heartbeat only)"),
    Fault("Work pools", "Two groups on two workers at once while the DuckDB file's run lock is held",
          "both crawl (outside the lock), then load one after the other; one dedupe run after both",
          "both crawls finish while the lock is held, nothing loads meanwhile; every table equals a plain "
          "ingest's",
          (f"{WP}test_ingest_all_on_two_workers_crawls_in_parallel_and_equals_a_plain_ingest",)),
    Fault("Dask", "The Dask scheduler killed with SIGKILL mid-`process`",
          "one line `error: lost the Dask cluster tcp://...: run the command again`, exit 1; the chunks loaded "
          "stay; the rerun loads the rest",
          "exit 1 and the line; after the rerun exact counts",
          (f"{DK}test_killing_the_dask_scheduler_mid_pass_is_named_and_the_rerun_is_exact",)),
    Fault("Dask", "A `--dask` value that is neither `local:N` (N >= 1) nor an address (`local:0`)",
          "a usage error before any work", "exit 2, the message names the `local:N` form",
          (f"{DK}test_a_bad_dask_address_is_a_usage_error",)),
    Fault("Object storage", "The S3 store down while a crawl closes its WARC file",
          "`error: cannot upload ...: the local copy is kept`, exit 1; the run is recorded; the next `process` "
          "uploads the file, then loads it",
          "one spooled file kept; after `process`: uploaded, spool empty, articles exact",
          (f"{S3}test_an_upload_to_a_store_that_is_down_keeps_the_file_and_the_next_process_uploads_it",)),
    Fault("Object storage", "A malformed archive URL (`s3://` without a bucket)",
          "one line naming the missing bucket, exit 1", "stderr `error: ...bucket...`, no traceback",
          (f"{S3}test_a_bad_archive_url_is_one_line",)),
    # ----------------------------------------------------------------------------- the explorer (newsflow web)
    Fault("Explorer", "`newsflow web` on a port already taken, over a warehouse that does not exist, or with "
          "`--host 0.0.0.0`", "\"error: cannot listen on 127.0.0.1:PORT: Address already in use\" and \"error: no "
          "warehouse at ... (run an ingest first)\", exit 1; another host serves, with a warning on stderr",
          "exit 1 and the lines; the 0.0.0.0 server answers and warns",
          (f"{WB}test_cli_help_and_host_warning",)),
    Fault("Explorer", "The Tantivy search index older than the warehouse (a load after it was built)",
          "not used: DuckDB answers at once (the new article is found), the index is rebuilt in a background "
          "thread, then used again", "the new article counted by both; the derivative current again",
          (f"{WB}test_a_stale_search_index_is_not_used_and_is_rebuilt",)),
    Fault("Explorer", "The explorer while a load runs, and SQL-like reads through it",
          "a connection per request, read-only with external access off: the file unchanged, a writer opens it "
          "between requests at once, `read_text('/etc/hostname')` refused", "the file's hash unchanged; a writer "
          "connects in 0.5 s; the read raises", (f"{WB}test_read_only_and_never_holds_the_warehouse",)),
    Fault("Explorer", "Bad URL state (`page=0`, `view=everything`, `from=yesterday`, `/static/..%2Fapp.py`, "
          "an unknown article, POST) and a page deeper than 500",
          "400 naming the parameter (\"page='501': a number from 1 to 500 (download the result for more)\"), "
          "404, 405; a query matching everything is paged 20 at a time", "the status codes; one page of 20",
          (f"{WB}test_errors_and_methods", f"{WB}test_broad_query_is_paged")),
    Fault("Hostile content", "An archived page with a script, replayed in the explorer; script in titles, in the "
          "query and in facet values", "the bytes as fetched under `Content-Security-Policy: sandbox; "
          "default-src 'none'` (no script runs, nothing is fetched); every string escaped, only http(s) links",
          "the CSP and nosniff headers; no `<script>alert` in any page",
          (f"{WB}test_archived_page_replayed_under_a_sandbox", f"{WB}test_everything_is_escaped",
           f"{WB}test_page_headers_forbid_outside_resources")),
)
