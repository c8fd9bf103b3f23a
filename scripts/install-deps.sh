#!/usr/bin/env bash
# Installs the Debian packages Motorcade needs for one purpose, only those missing:
#   scripts/install-deps.sh test    what the test suite runs (openssl, ffmpeg, fonts, Chromium,
#                                   Janus, iproute2 for the live tests' network namespace, the
#                                   players of the playback matrix — GStreamer, VLC, mpv — and
#                                   faketime/cpulimit for the vehicle-clock and starved-encoder tests,
#                                   gst-rtsp-server (through python3-gi) as the passthrough tests'
#                                   RTSP IP camera,
#                                   PostgreSQL for the catalog tests' throwaway clusters, nginx as
#                                   the load balancer in front of the server's roles)
#   scripts/install-deps.sh start   what the platform and its demo vehicle run (ffmpeg, fonts, Janus)
#   scripts/install-deps.sh bench   what the benchmarks compare against (nginx, wrk)
# Needs root (or sudo) only when something is missing; otherwise says exactly what to install.
set -euo pipefail
purpose=${1:-test}
case "$purpose" in
  test) need=("openssl:openssl" "ffmpeg:ffmpeg" "ffprobe:ffmpeg" "chromium:chromium"
              "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core"
              "janus:janus" "ip:iproute2" "tc:iproute2" "unshare:util-linux"
              "gst-launch-1.0:gstreamer1.0-tools"
              "/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstisomp4.so:gstreamer1.0-plugins-good"
              "/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstdash.so:gstreamer1.0-plugins-bad"
              "/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstlibav.so:gstreamer1.0-libav"
              "cvlc:vlc-bin" "/usr/lib/x86_64-linux-gnu/vlc/plugins/demux/libadaptive_plugin.so:vlc-plugin-base"
              "mpv:mpv" "faketime:faketime" "cpulimit:cpulimit"
              "/usr/lib/python3/dist-packages/gi/__init__.py:python3-gi"
              "/usr/lib/x86_64-linux-gnu/girepository-1.0/GstRtspServer-1.0.typelib:gir1.2-gst-rtsp-server-1.0"
              "/usr/lib/postgresql/15/bin/initdb:postgresql" "nginx:nginx-light") ;;
  start) need=("ffmpeg:ffmpeg" "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core"
               "janus:janus") ;;
  bench) need=("nginx:nginx-light" "wrk:wrk" "ffmpeg:ffmpeg") ;;
  *) echo "usage: scripts/install-deps.sh test|start|bench" >&2; exit 2 ;;
esac

missing=()
for pair in "${need[@]+"${need[@]}"}"; do
  what=${pair%%:*}
  if [[ $what == /* ]]; then [ -e "$what" ] && continue
  else command -v "$what" >/dev/null 2>&1 && continue
  fi
  [[ " ${missing[*]-} " == *" ${pair#*:} "* ]] || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Motorcade needs these packages for '$purpose': ${missing[*]}, and this is not a Debian system: install them with your package manager" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "Motorcade needs these Debian packages for '$purpose': ${missing[*]}" >&2
    echo "This user cannot install them; as root run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "Installing Debian packages for '$purpose': ${missing[*]}" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >&2
# Debian's janus, nginx and postgresql packages may start their own service with the sample configuration;
# Motorcade runs its own instances (with its own config folders), so stop those.
for service in janus nginx postgresql; do
  if [[ " ${missing[*]} " == *" $service"* ]]; then
    $sudo systemctl stop "$service" >/dev/null 2>&1 || $sudo service "$service" stop >/dev/null 2>&1 || true
  fi
done
