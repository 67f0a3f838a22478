#!/bin/sh
# roundtrip.sh: checkpoints between dtcl and PyTorch, both ways, and the
# representations of `dtcl embed` against PyTorch's on the same weights
# (tolerance 1e-5, relative L2). Skips (77) without python3-torch.
#   1. PyTorch -> dtcl: ref/roundtrip.py saves the f.* tensors of a PyTorch
#      module as safetensors.torch.save_file does; dtcl embed reads them.
#   2. dtcl -> PyTorch: tests/make_checkpoint writes a trained dtcl checkpoint
#      (with Adam state); PyTorch loads it with load_state_dict(strict=True)
#      and embeds; dtcl embed on the same file agrees; PyTorch re-saves every
#      tensor and dtcl embed on that file agrees bitwise with the first.
#   3. densenet121 (1e-4): torchvision's DenseNet-121, converted by
#      ref/convert_densenet.py, against dtcl embed (skipped without
#      python3-torchvision); and a dtcl densenet121 checkpoint from one epoch
#      of `dtcl train` loaded by ref/dtcl_nets.py with strict=True.
srcdir=${DTCL_SRCDIR:-${srcdir:-.}}
dtcl=${DTCL:-./dtcl}
ref="$srcdir/ref/roundtrip.py"
py=""
for c in "$DTCL_PYTHON" python3 /usr/bin/python3; do
    [ -n "$c" ] && "$c" -c 'import torch, numpy' >/dev/null 2>&1 && { py=$c; break; }
done
if [ -z "$py" ]; then
    echo "SKIP: no python3 that imports torch and numpy (Debian: apt-get install python3-torch)"
    exit 77
fi
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
set -e
"$py" "$ref" export "$tmp"
"$dtcl" embed -t 2 -c "$tmp/torch_f.safetensors" -i "$tmp/x.npy" -o "$tmp/h_dtcl.npy"
"$py" "$ref" compare "$tmp/h_dtcl.npy" "$tmp/h_torch.npy" 1e-5

tests/make_checkpoint "$tmp/ck.safetensors" "$tmp/x2.npy"
"$py" "$ref" load "$tmp/ck.safetensors" "$tmp/x2.npy" "$tmp/h2_torch.npy"
"$dtcl" embed -t 2 -c "$tmp/ck.safetensors" -i "$tmp/x2.npy" -o "$tmp/h2_dtcl.npy"
"$py" "$ref" compare "$tmp/h2_dtcl.npy" "$tmp/h2_torch.npy" 1e-5
"$dtcl" embed -t 2 -c "$tmp/h2_torch.npy.safetensors" -i "$tmp/x2.npy" -o "$tmp/h3_dtcl.npy"
cmp "$tmp/h2_dtcl.npy" "$tmp/h3_dtcl.npy"
echo "PyTorch's re-saved checkpoint gives bitwise the same representations in dtcl"

"$dtcl" synth --kind brain -o "$tmp/brain" --size 32 --patients 10 --slices-per-patient 4 --no-auc >/dev/null
"$dtcl" train -q -t 2 --data "$tmp/brain" --strategy proposed --encoder densenet121 --batch 8 --epochs 1 -o "$tmp/dn"
"$py" "$ref" load "$tmp/dn/checkpoints/epoch-001.safetensors" "$tmp/brain/images.npy" "$tmp/hd2_torch.npy"
"$dtcl" embed -t 2 -c "$tmp/dn/checkpoints/epoch-001.safetensors" -i "$tmp/brain/images.npy" -o "$tmp/hd2_dtcl.npy"
"$py" "$ref" compare "$tmp/hd2_dtcl.npy" "$tmp/hd2_torch.npy" 1e-4
if "$py" -c 'import torchvision' >/dev/null 2>&1; then
    "$py" "$ref" densenet "$tmp"
    "$dtcl" embed -t 2 -c "$tmp/tv_f.safetensors" -i "$tmp/xd.npy" -o "$tmp/hd_dtcl.npy"
    "$py" "$ref" compare "$tmp/hd_dtcl.npy" "$tmp/hd_torch.npy" 1e-4
    "$dtcl" embed -t 1 -b 4 -c "$tmp/tv_f.safetensors" -i "$tmp/xd.npy" -o "$tmp/hd_b4.npy"
    cmp "$tmp/hd_dtcl.npy" "$tmp/hd_b4.npy"
    echo "densenet121: batches of 4 (the last of 2) on 1 thread give bitwise the same representations"
else
    echo "torchvision's DenseNet-121 not compared: no python3-torchvision"
fi
