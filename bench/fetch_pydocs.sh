#!/usr/bin/env bash
# Fetch the Python 3.11 HTML documentation (Debian package python3.11-doc) as a
# larger, real evaluation corpus.
#
# Usage: bench/fetch_pydocs.sh [--faq-only] [DEST]
#   DEST         destination directory (default: bench/data/pydocs in the repo)
#   --faq-only   copy only faq/*.html (small corpus for tests and eval/pydocs_faq.jsonl)
#
# Only regular .html files are copied (symlinks into /usr/share/javascript, CSS,
# images and _sources/ are skipped); the directory layout below html/ is kept,
# so DEST/faq/programming.html, DEST/library/os.html, ...
# Debian's build points each page's canonical link at file:///usr/share/doc/...; the copies point
# it at docs.python.org, where the pages are published (askoleus indexes http(s) links only).
# Idempotent: if DEST already holds the requested files, nothing is downloaded.
set -euo pipefail

PKG=python3.11-doc
faq_only=0
dest=""
for arg in "$@"; do
    case "$arg" in
        --faq-only) faq_only=1 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option: $arg" >&2; exit 2 ;;
        *)
            if [[ -n "$dest" ]]; then echo "only one DEST allowed" >&2; exit 2; fi
            dest="$arg" ;;
    esac
done
# default is relative to the repository, wherever the script is run from
dest="${dest:-$(dirname "$0")/data/pydocs}"

count_html() {
    # number of regular .html files under $1 (restricted to faq/ with --faq-only)
    local root="$1"
    if [[ $faq_only -eq 1 ]]; then root="$root/faq"; fi
    [[ -d "$root" ]] || { echo 0; return; }
    find "$root" -type f -name '*.html' | wc -l
}

# Idempotence: the FAQ index always exists; for a full copy also require library/.
if [[ -f "$dest/faq/index.html" ]] && { [[ $faq_only -eq 1 ]] || [[ -f "$dest/library/index.html" ]]; }; then
    echo "already present: $dest ($(count_html "$dest") .html files); skipping"
    exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(
    cd "$tmp"
    if ! apt-get download "$PKG" >download.log 2>&1; then
        if grep -qiE "unable to locate|no packages found|has no installation candidate" download.log; then
            echo "package $PKG unknown to apt; running apt-get update" >&2
            apt-get update >/dev/null
            apt-get download "$PKG"
        else
            cat download.log >&2
            exit 1
        fi
    fi
)

deb="$(ls "$tmp"/"$PKG"_*.deb 2>/dev/null | head -n1 || true)"
[[ -n "$deb" ]] || { echo "download failed: no $PKG .deb in $tmp" >&2; exit 1; }
dpkg -x "$deb" "$tmp/x"

# The HTML root is the directory that contains faq/ and library/.
src=""
for cand in "$tmp"/x/usr/share/doc/python3*/html; do
    if [[ -d "$cand/faq" && -d "$cand/library" && ! -L "$cand" ]]; then src="$cand"; break; fi
done
if [[ -z "$src" ]]; then
    faqdir="$(find "$tmp/x" -type d -name faq -path '*/html/faq' | head -n1)"
    [[ -n "$faqdir" ]] && src="$(dirname "$faqdir")"
fi
[[ -n "$src" ]] || { echo "no html/ tree with faq/ found in $deb" >&2; exit 1; }

sub="."
[[ $faq_only -eq 1 ]] && sub="faq"

mkdir -p "$dest"
# Regular files only (-type f never matches a symlink), .html only.
(cd "$src" && find "$sub" -type f -name '*.html' -print0) |
    while IFS= read -r -d '' f; do
        f="${f#./}"
        mkdir -p "$dest/$(dirname "$f")"
        sed 's#file:///usr/share/doc/python3.11/html/#https://docs.python.org/3.11/#g' "$src/$f" >"$dest/$f"
    done

n="$(count_html "$dest")"
size="$(du -sh "$dest" | cut -f1)"
echo "copied $n .html files from $(basename "$deb") to $dest ($size)"
