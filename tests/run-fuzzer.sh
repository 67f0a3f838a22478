#!/bin/sh
# run-fuzzer.sh TARGET SECONDS [SRCDIR]: builds tests/fuzz_TARGET.c with
# clang's libFuzzer, AddressSanitizer and UBSan, and runs it for SECONDS on a
# corpus seeded from SRCDIR/tests/fuzz/TARGET. An input that crashes is
# written into SRCDIR/tests/fuzz/TARGET/ (crash-*), where `make check'
# replays it from then on. Prints libFuzzer's final statistics.
set -eu
target=$1
seconds=$2
srcdir=${3:-.}
cc=${CLANG:-clang}
inc="-I. -I$srcdir -I$srcdir/src"
case $target in
npy)   src="src/io/npy.c src/base/error.c src/io/atomicfile.c"; libs="" ;;
png)   src="src/io/pngio.c src/base/error.c src/io/atomicfile.c"; libs="$(pkg-config --libs libpng zlib)" ;;
csv)   src="src/io/csv.c src/base/error.c"; libs="" ;;
nifti) src="src/io/nifti.c src/base/error.c"; libs="-lnifti2 -lz -lm" ;;
safetensors) src="src/io/safetensors.c src/base/error.c src/io/atomicfile.c"; libs="-lcjson" ;;
tiff)  src="src/io/tiffio.c src/base/error.c"; libs="$(pkg-config --libs libtiff-4)" ;;
jpeg)  src="src/io/jpegio.c src/base/error.c"; libs="$(pkg-config --libs libjpeg)" ;;
*) echo "run-fuzzer.sh: unknown target '$target' (npy, png, csv, nifti, safetensors, tiff, jpeg)" >&2; exit 2 ;;
esac
paths=""
for f in $src; do paths="$paths $srcdir/$f"; done
bin=tests/fuzz_${target}_libfuzzer
mkdir -p tests "tests/fuzz-corpus/$target"
$cc -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $inc \
    $(pkg-config --cflags libpng 2>/dev/null) -I/usr/include/nifti \
    "$srcdir/tests/fuzz_$target.c" $paths $libs -o "$bin"
"$bin" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$srcdir/tests/fuzz/$target/crash-" \
    "tests/fuzz-corpus/$target" "$srcdir/tests/fuzz/$target" 2>&1 | tail -n 25
