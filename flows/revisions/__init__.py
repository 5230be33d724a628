"""Article revisions: what a re-check's answer means (evidence), readable diffs of Chinese text
(diff), delistings from list pages (listing) and the re-check step itself (recheck)."""
