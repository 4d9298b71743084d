#!/usr/bin/env bash
# A paced (real-time) headless audio device for cpal on a machine without a sound card:
# a JACK server with the dummy driver (it runs its process cycle on a timer, like a sound card)
# and the ALSA `jack` PCM plugin as the default ALSA device.
#
#   eval "$(scripts/paced-audio.sh start)"   # starts the server, prints the env to export
#   target/release/realtime_backend play T.json --duration 5   # takes 5 s
#   scripts/paced-audio.sh stop
#
# Use a fixed device buffer (`play --buffer 512`, `PlayerConfig::buffer_frames`): cpal's
# default on this PCM is 16384 frames (341 ms). The plugin does not report most underruns
# (it replays the stale ring), so count glitches in a capture (`jack_rec` on the player's
# ports), not only `Status::underruns`.
#
# Env (optional): PACED_AUDIO_DIR (state dir, default /tmp/paced-audio-$UID), PACED_AUDIO_RATE
# (48000), PACED_AUDIO_PERIOD (JACK period in frames, 256). The server gets its own name
# (JACK_DEFAULT_SERVER), so it does not collide with other JACK servers on a shared machine.
# The ALSA config is self-contained (ALSA_CONFIG_PATH names only it): no ~/.asoundrc, no
# system pulse/jack hooks.
set -euo pipefail
dir=${PACED_AUDIO_DIR:-/tmp/paced-audio-$(id -u)}
rate=${PACED_AUDIO_RATE:-48000}
period=${PACED_AUDIO_PERIOD:-256}
server=$(basename "$dir")

env_lines() {
  echo "export JACK_DEFAULT_SERVER=$server"
  echo "export JACK_NO_AUDIO_RESERVATION=1"
  echo "export ALSA_CONFIG_PATH=$dir/asound.conf"
  # For tests that give each child its own ALSA config (crates/cli/tests/paced.rs).
  echo "export PACED_AUDIO_CONF=$dir/asound.conf"
}

start() {
  local pkgs=(jackd2 libasound2-plugins) missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    local SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >&2
  fi
  mkdir -p "$dir"
  export JACK_DEFAULT_SERVER=$server JACK_NO_AUDIO_RESERVATION=1
  if [ -f "$dir/jackd.pid" ] && kill -0 "$(cat "$dir/jackd.pid")" 2>/dev/null; then
    echo "paced audio already running (jackd pid $(cat "$dir/jackd.pid"))" >&2
  else
    # default: the JACK PCM itself (float, stereo, the server's rate only), so cpal renders at
    # the server rate with the buffer it asks for (`plug` over it resampled 44.1 kHz in ALSA,
    # refused fixed buffer sizes, and gave cpal ~15000-frame periods). `plugged` converts
    # anything (e.g. `aplay -D plugged file.wav`).
    cat >"$dir/asound.conf" <<EOF
pcm.!default {
    type jack
    playback_ports { 0 system:playback_1 1 system:playback_2 }
    hint { show on description "paced JACK dummy device ($rate Hz, float)" }
}
pcm.plugged {
    type plug
    slave.pcm "default"
    hint { show on description "paced JACK dummy device, any format/rate" }
}
EOF
    setsid jackd -n "$server" -d dummy -r "$rate" -p "$period" -C 0 -P 2 \
      >"$dir/jackd.log" 2>&1 </dev/null &
    echo $! >"$dir/jackd.pid"
    # Ready when the server lists its ports.
    for _ in $(seq 50); do
      jack_lsp 2>/dev/null | grep -q system:playback_2 && break
      kill -0 "$(cat "$dir/jackd.pid")" 2>/dev/null || { cat "$dir/jackd.log" >&2; exit 1; }
      sleep 0.1
    done
    jack_lsp 2>/dev/null | grep -q system:playback_2 || {
      echo "jackd did not come up:" >&2; cat "$dir/jackd.log" >&2; exit 1; }
    echo "paced audio up: JACK dummy $rate Hz, period $period (pid $(cat "$dir/jackd.pid"))" >&2
  fi
  env_lines
}

stop() {
  if [ -f "$dir/jackd.pid" ]; then
    local pid; pid=$(cat "$dir/jackd.pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) env_lines ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
