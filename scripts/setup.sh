#!/usr/bin/env bash
# Installs the Debian 12 packages brink needs, skipping those already there.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libeigen3-dev libboost-program-options-dev libhdf5-dev libisal-dev libyaml-cpp-dev librandom123-dev libfmt-dev
  libgtest-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev libfuzzer-14-dev
  hdf5-tools netcdf-bin udunits-bin strace
  openmpi-bin libopenmpi-dev
  python3 python3-numpy python3-h5py python3-xarray python3-h5netcdf python3-netcdf4 python3-pandas python3-matplotlib
  python3-pytest python3-nbclient python3-nbformat python3-ipykernel python3-yaml python3-scipy
  python3-sklearn python3-tqdm python3-venv python3-setuptools python3-pip udunits-bin
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages; run as root:"
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
