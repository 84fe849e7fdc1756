#!/usr/bin/env bash
# Load harness: the switch (release build) under SIPp on 127.0.0.1.
#
#   benches/load.sh                 # (a) then (b), each on a fresh switch
#   SCENARIOS=b RATES="50 100" STEP_SECS=15 benches/load.sh
#   SCENARIOS=a RATES_A="200 400 600" benches/load.sh
#
# Scenario (a): a SIPp UAC plays the trunk and places 5-second calls with
# PCMA RTP (rtp_stream) to the echo test number; the switch answers and
# sends every packet back to the caller (one leg per call, 50 echoed
# packets/s per call). Steps RATES_A (none above MAX_RATE) until SIPp sees
# retransmissions or failed calls.
# Scenario (b): the same calls to the bench number; the switch rings its one
# registered operator, a SIPp UAS that registered with digest first and
# answers with -rtp_echo, and relays media both ways. Steps RATES the same way.
#
# Per step it reports calls/s offered, concurrent calls, failed calls,
# retransmissions, INVITE-to-200 p50/p99, the switch's CPU over the steady
# window (/proc/PID/stat), packets relayed (from /proc/net/snmp), CPU us per
# relayed packet, RSS per active call; then the bare forwarders at the same
# packet rate (ratios): udp_forwarder (one socket) and port_forwarder (one
# socket per leg, as many as the switch had, on one epoll set); RSS after
# the load, and the 1,000-listener playout check. Bounded: every process
# is started here and killed by its PID.
set -euo pipefail

# As root, run in a network namespace of our own (loopback only): the UDP
# counters of /proc/net/snmp then count this run's datagrams alone, not
# another run's on the same machine, and no port can collide with it.
# LOAD_NETNS=0 runs in the machine's namespace.
if [ "${LOAD_NETNS:-1}" = 1 ] && [ -z "${LOAD_IN_NETNS:-}" ] && [ "$(id -u)" = 0 ] &&
    command -v unshare >/dev/null && command -v ip >/dev/null; then
    exec env LOAD_IN_NETNS=1 unshare --net bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCENARIOS=${SCENARIOS:-"a b"}
RATES=${RATES:-"20 50 100 150"}
RATES_A=${RATES_A:-"100 200 300 400 500 600"}
MAX_RATE=${MAX_RATE:-800}        # no step above this, whatever the lists say
STEP_SECS=${STEP_SECS:-12}      # seconds of new calls per step
CALL_SECS=5
LISTENERS=${LISTENERS:-1000}
PLAYOUT_SECS=${PLAYOUT_SECS:-15}
RECORD=${RECORD:-false}          # record_calls: true adds the recorder's work
# PORT_OFFSET moves every port of the run, so two runs on one machine do
# not collide (the switch's RTP range moves with it).
PORT_OFFSET=${PORT_OFFSET:-0}
SIP_PORT=$((15060 + PORT_OFFSET))
OP_PORT=$((15072 + PORT_OFFSET))
UAC_PORT=$((15074 + PORT_OFFSET))
ECHO_PORT=$((16000 + PORT_OFFSET))
FWD_PORT=$((16100 + PORT_OFFSET))
# The per-port forwarder's ports: below Linux's ephemeral range (32768 up),
# where SIPp's and the kernel's own ports cannot be in the way.
PFWD_PORT=$((20000 + PORT_OFFSET))
RTP_FIRST=$((30000 + PORT_OFFSET))
RTP_LAST=$((39999 + PORT_OFFSET))
WORK=$(mktemp -d /tmp/switchboard-load.XXXXXX)
TCK=$(getconf CLK_TCK)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU of the media worker threads only (named media-N): the relay's share,
# without SIP signalling, the store and the API.
media_ticks() {
    local t sum=0
    for t in /proc/"$1"/task/*; do
        if grep -q '^media-' "$t/comm" 2>/dev/null; then
            sum=$((sum + $(sed 's/.*) //' "$t/stat" | awk '{print $12 + $13}')))
        fi
    done
    echo "$sum"
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# Udp OutDatagrams of the whole (network namespace of the) machine.
udp_out() { awk '/^Udp:/ { n++; if (n == 2) print $5 }' /proc/net/snmp; }
now() { date +%s.%N; }
# Column NAME of the last line of a SIPp ';' stat CSV.
stat_col() {
    awk -F';' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
        END { print (c ? $c : "NA") }' "$1"
}
# p50 and p99 of SIPp's rtt file (Date_ms;response_time_ms;rtd_no).
rtt_pct() {
    awk -F';' 'NR > 1 && $2 != "" { print $2 }' "$@" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "NA NA"; exit }
            i50 = int((NR - 1) * 0.5) + 1; i99 = int((NR - 1) * 0.99) + 1
            printf "%.2f %.2f\n", v[i50], v[i99] }'
}

log "== build (release)"
(cd "$ROOT" && cargo build --release -q -p switchboard -p switchboard-benches --bins)
BIN="$ROOT/target/release"

log "== work dir $WORK (record_calls = $RECORD)"
mkdir -p "$WORK/var"
sox -n -r 8000 -c 1 -e a-law -b 8 "$WORK/speech.wav" synth 6 sine 440 vol 0.5
sed "s#@AUDIO@#$WORK/speech.wav#" "$ROOT/benches/sipp/caller_uac.xml" >"$WORK/caller_uac.xml"
cat >"$WORK/bench.toml" <<EOF
[server]
sip_listen = "127.0.0.1:$SIP_PORT"
public_address = "127.0.0.1"
rtp_ports = "$RTP_FIRST-$RTP_LAST"
data_dir = "$WORK/var"
prompts_dir = "$ROOT/prompts"
ring_timeout = 30
media_timeout = 60
node_id = "bench"
record_calls = $RECORD

[registrar]
realm = "switchboard"
min_expires = 60
max_expires = 3600
default_expires = 3600
keepalive_interval = 0
keepalive_max_missed = 2
nonce_ttl = 300

[[trunk]]
name = "load"
addresses = ["127.0.0.1"]
proxy = "127.0.0.1:$((15070 + PORT_OFFSET))"

[[group]]
name = "bench"

[[operator]]
username = "op1"
password = "op1-bench-secret"
groups = ["bench"]

[[number]]
number = "+74950000001"
name = "bench"
ring = { group = "bench" }

[[number]]
number = "+74950000009"
name = "echo"
echo = true
EOF
"$BIN/switchboard" check "$WORK/bench.toml" >&2

# A fresh switch per scenario, so one scenario's peak does not count in
# the next one's RSS figures.
start_switch() {
    RUST_LOG=${RUST_LOG:-warn} "$BIN/switchboard" run --config "$WORK/bench.toml" \
        >"$WORK/switch_$1.log" 2>&1 &
    SW=$!
    PIDS+=("$SW")
    sleep 1
    kill -0 "$SW"
}

# Scenario (b)'s operator: registers (digest), then answers with -rtp_echo.
start_operator() {
    log "== operator registers (digest), then answers with -rtp_echo"
    (cd "$WORK" && sipp "127.0.0.1:$SIP_PORT" -sf "$ROOT/benches/sipp/operator_register.xml" \
        -i 127.0.0.1 -p "$OP_PORT" -s op1 -au op1 -ap op1-bench-secret -m 1 -nostdin \
        -timeout 10s -timeout_error >/dev/null 2>&1) || { log "operator registration failed"; exit 1; }
    (cd "$WORK" && exec sipp -sf "$ROOT/benches/sipp/operator_uas.xml" -i 127.0.0.1 -mi 127.0.0.1 \
        -p "$OP_PORT" -mp "$ECHO_PORT" -rtp_echo -nostdin -trace_err -error_file "$WORK/uas_err.log" \
        >/dev/null 2>&1) &
    UAS=$!
    PIDS+=("$UAS")
    sleep 1
}

printf '%s\n' "step|cps|concurrent|ok|failed|retrans|inv200_p50_ms|inv200_p99_ms|sw_cpu_pct|relayed_pps|sw_us_per_pkt|media_us_per_pkt|fwd_us_per_pkt|ratio_media_to_fwd|port_fwd_us_per_pkt|ratio_media_to_port_fwd|rss_kib|kib_per_call" >"$WORK/results.txt"

# A forwarder's figure is the median of three runs: one 4 s window swings by
# a third on a shared machine.
forwarder_cost() {
    local a b c
    a=$(forwarder_run "$@")
    b=$(forwarder_run "$@")
    c=$(forwarder_run "$@")
    printf '%s\n' "$a" "$b" "$c" | sort -n | sed -n 2p
}

forwarder_run() {
    # Bare forwarder, echo mode, at PPS packets/s; prints us of CPU per
    # packet. With PORTS, the per-port forwarder on that many ports (one
    # per leg of the switch), else the one-socket forwarder.
    local pps=$1 ports=${2:-} streams fwd load c0 c1 t0 t1 pk
    streams=$(((pps + 25) / 50))
    [ "$streams" -lt 1 ] && streams=1
    if [ -n "$ports" ]; then
        "$BIN/port_forwarder" "127.0.0.1:$PFWD_PORT" "$ports" >/dev/null &
    else
        "$BIN/udp_forwarder" "127.0.0.1:$FWD_PORT" >/dev/null &
    fi
    fwd=$!
    PIDS+=("$fwd")
    sleep 0.5
    if [ -n "$ports" ]; then
        "$BIN/rtp_load" "127.0.0.1:$PFWD_PORT" "$streams" 8 "$ports" >"$WORK/pfwd_$pps.txt" &
    else
        "$BIN/rtp_load" "127.0.0.1:$FWD_PORT" "$streams" 8 >"$WORK/fwd_$pps.txt" &
    fi
    load=$!
    sleep 2
    c0=$(cpu_ticks "$fwd"); t0=$(now)
    sleep 4
    c1=$(cpu_ticks "$fwd"); t1=$(now)
    wait "$load" || true
    kill "$fwd" 2>/dev/null || true
    wait "$fwd" 2>/dev/null || true
    pk=$(echo "$streams * 50 * ($t1 - $t0)" | bc -l)
    echo "scale=2; ($c1 - $c0) * 1000000 / $TCK / $pk" | bc -l
}

# One step of scenario $1 ("a" or "b"): calls to $2 at $3 calls/s. Prints
# the step's line; fails (stop stepping) on retransmissions or failed calls.
run_step() {
    local S=$1 NUMBER=$2 R=$3
    log "== ($S) step: $R calls/s for ${STEP_SECS}s of 5 s calls to $NUMBER"
    DIR="$WORK/step_${S}_$R"
    mkdir -p "$DIR"
    TOTAL=$((R * STEP_SECS))
    (cd "$DIR" && exec sipp "127.0.0.1:$SIP_PORT" -sf "$WORK/caller_uac.xml" \
        -s "$NUMBER" -i 127.0.0.1 -mi 127.0.0.1 -p "$UAC_PORT" \
        -r "$R" -m "$TOTAL" -l $((R * (CALL_SECS + 3))) -nostdin \
        -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1 \
        -trace_err -error_file err.log -timeout $((STEP_SECS + CALL_SECS + 30))s \
        >/dev/null 2>&1) &
    UAC=$!
    PIDS+=("$UAC")
    # SIPp has been seen to hang after its last call, past its own -timeout
    # (asleep, every call done): stop it then, or the run waits forever.
    (sleep $((STEP_SECS + CALL_SECS + 45)) && kill "$UAC" 2>/dev/null) &
    UAC_WATCHDOG=$!
    # Concurrency is steady once the first calls end (after CALL_SECS).
    sleep $((CALL_SECS + 1))
    c0=$(cpu_ticks "$SW"); m0=$(media_ticks "$SW"); o0=$(udp_out); t0=$(now)
    u0=$(cpu_ticks "$UAC" 2>/dev/null || echo 0)
    sleep $((STEP_SECS - CALL_SECS - 2))
    c1=$(cpu_ticks "$SW"); m1=$(media_ticks "$SW"); o1=$(udp_out); t1=$(now)
    u1=$(cpu_ticks "$UAC" 2>/dev/null || echo 0)
    RSS=$(rss_kb "$SW")
    CONC=$(stat_col "$DIR/stat.csv" "CurrentCall" 2>/dev/null || echo 0)
    wait "$UAC" || true
    kill "$UAC_WATCHDOG" 2>/dev/null || true
    OK=$(stat_col "$DIR/stat.csv" "SuccessfulCall(C)")
    FAILED=$(stat_col "$DIR/stat.csv" "FailedCall(C)")
    RETRANS=$(stat_col "$DIR/stat.csv" "Retransmissions(C)")
    read -r P50 P99 < <(rtt_pct "$DIR"/*_rtt.csv 2>/dev/null || echo "NA NA")
    SECS=$(echo "$t1 - $t0" | bc -l)
    CPU_PCT=$(echo "scale=1; ($c1 - $c0) * 100 / $TCK / $SECS" | bc -l)
    # (b) Per relayed packet the machine sends 4 datagrams (UAC, switch,
    # UAS echo, switch): the switch relays half of them. (a) Per echoed
    # packet it sends 2 (UAC, switch): the switch sends half of them too.
    RELAYED=$(echo "($o1 - $o0) / 2" | bc -l)
    PPS=$(echo "scale=0; $RELAYED / $SECS" | bc -l)
    US_PKT=$(echo "scale=2; ($c1 - $c0) * 1000000 / $TCK / $RELAYED" | bc -l)
    MEDIA_US=$(echo "scale=2; ($m1 - $m0) * 1000000 / $TCK / $RELAYED" | bc -l)
    FWD_US=$(forwarder_cost "$PPS")
    RATIO=$(echo "scale=2; $MEDIA_US / $FWD_US" | bc -l 2>/dev/null || echo NA)
    # The per-port floor: as many ports as the switch had RTP legs, (a) one
    # per call, (b) two per call.
    LEGS=$CONC
    [ "$S" = b ] && LEGS=$((CONC * 2))
    PFWD_US=$(forwarder_cost "$PPS" "$LEGS")
    PRATIO=$(echo "scale=2; $MEDIA_US / $PFWD_US" | bc -l 2>/dev/null || echo NA)
    PER_CALL=$(echo "scale=1; ($RSS - $RSS_IDLE) / ($CONC + 0.0001)" | bc -l)
    printf '%s\n' "$S|$R|$CONC|$OK|$FAILED|$RETRANS|$P50|$P99|$CPU_PCT|$PPS|$US_PKT|$MEDIA_US|$FWD_US|$RATIO|$PFWD_US|$PRATIO|$RSS|$PER_CALL" |
        tee -a "$WORK/results.txt" >&2
    # Who runs out first on a shared box: the load generator's own CPU, and
    # the whole machine's 1-minute load.
    printf '# %s|%s sipp_uac_cpu_pct=%s loadavg=%s\n' "$S" "$R" \
        "$(echo "scale=1; ($u1 - $u0) * 100 / $TCK / $SECS" | bc -l)" \
        "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$WORK/results.txt" >&2
    if [ "${RETRANS:-0}" != "NA" ] && [ "${RETRANS:-0}" -gt 0 ]; then
        log "retransmissions at $R calls/s: stopping the steps"
        return 1
    fi
    if [ "${FAILED:-0}" != "NA" ] && [ "${FAILED:-0}" -gt 0 ]; then
        log "failed calls at $R calls/s: stopping the steps"
        return 1
    fi
    sleep 3
}

# RSS after the load: 10 s after the last call, and once the core's wait
# for late media reports (60 s) has passed.
rss_after() {
    sleep 10
    RSS_AFTER=$(rss_kb "$SW")
    sleep "${AFTER_SECS:-60}"
    RSS_LATER=$(rss_kb "$SW")
    log "($1) switch RSS idle ${RSS_IDLE} KiB, 10 s after the load ${RSS_AFTER} KiB, $((10 + ${AFTER_SECS:-60})) s after ${RSS_LATER} KiB"
    printf '%s: rss_idle_kib=%s rss_after_10s_kib=%s rss_after_%ss_kib=%s\n' "$1" "$RSS_IDLE" \
        "$RSS_AFTER" "$((10 + ${AFTER_SECS:-60}))" "$RSS_LATER" >>"$WORK/results.txt"
}

for S in $SCENARIOS; do
    case $S in
        a) NUMBER=+74950000009; STEPS=$RATES_A ;;
        b) NUMBER=+74950000001; STEPS=$RATES ;;
        *) log "unknown scenario $S (a or b)"; exit 1 ;;
    esac
    log "== scenario ($S): fresh switch"
    start_switch "$S"
    if [ "$S" = b ]; then start_operator; fi
    RSS_IDLE=$(rss_kb "$SW")
    log "switch idle RSS ${RSS_IDLE} KiB"
    for R in $STEPS; do
        [ "$R" -gt "$MAX_RATE" ] && break
        run_step "$S" "$NUMBER" "$R" || break
    done
    rss_after "$S"
    if [ "$S" = b ]; then
        kill "$UAS" 2>/dev/null || true
        wait "$UAS" 2>/dev/null || true
    fi
    kill "$SW" 2>/dev/null || true
    wait "$SW" 2>/dev/null || true
done

log "== playout check: $LISTENERS listeners, ${PLAYOUT_SECS}s of hold music"
MUSIC=$(ls "$ROOT"/prompts/moh/*.wav 2>/dev/null | head -1 || true)
"$BIN/playout_check" "$LISTENERS" "$PLAYOUT_SECS" $MUSIC | tee -a "$WORK/results.txt" >&2

cat "$WORK/results.txt"
echo "files in $WORK"
