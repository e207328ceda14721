"""The baseline for test_network_quality.py's uplink cap, without Chorus: the same 500 kbit/s tbf cap on a
veth between two namespaces, the same 1280x720 fake camera, but Chromium sending straight to another
Chromium (whose transport-cc feedback GoogCC then reads). Run by hand, as root:
`python3 tests/integration/netq_p2p_baseline.py`; prints the per-second curve (kbit/s sent,
availableOutgoingBitrate, targetBitrate, frame height) of each phase and how long the rate took to
climb back over the cap once it was lifted. Not collected by pytest (not a test of Chorus)."""
import json
import os
import sys
import tempfile
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("CHORUS_ARTIFACTS", tempfile.mkdtemp(prefix="netq-p2p-"))
from netns import Network
from browser import start_browser, StaticServer
from pathlib import Path

SAMPLER = """
window.p2p = { pc: null, samples: [] };
window.p2p.sample = async () => {
  const r = await window.p2p.pc.getStats(); const s = {at: performance.now(), bytes: 0, avail: null, target: null, h: null};
  for (const x of r.values()) {
    if (x.type === 'outbound-rtp') { s.bytes += (x.bytesSent||0) + (x.headerBytesSent||0); if (x.kind==='video') { s.target = x.targetBitrate; s.h = x.frameHeight; } }
    if (x.type === 'transport' && x.selectedCandidatePairId) { const p = r.get(x.selectedCandidatePairId); s.avail = p && p.availableOutgoingBitrate; }
  }
  window.p2p.samples.push(s);
};
"""
def gathered(b):
    return b.js("const pc = window.p2p.pc; if (pc.iceGatheringState !== 'complete') await new Promise(r => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r())); return pc.localDescription.sdp;")

net = Network(prefix=f"chorus-p2p-{os.getpid()}")
try:
    a, b = net.namespace("pa"), net.namespace("pb")
    addr_a, addr_b = net.link(a, b)
    b.run(["ip", "route", "add", "default", "via", addr_a])
    dev = net.links[-1].device_a
    empty = Path(os.environ["CHORUS_ARTIFACTS"]) / "www"; empty.mkdir(exist_ok=True); (empty / "index.html").write_text("<html><body></body></html>")
    with a.entered():
        sa = StaticServer(empty); pub = start_browser("p2p-pub")
    with b.entered():
        sb = StaticServer(empty); sub = start_browser("p2p-sub")
    try:
        pub.open(sa.base_url + "/"); sub.open(sb.base_url + "/")
        for x in (pub, sub): x.js(SAMPLER)
        pub.js("""const m = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 1280, height: 720}});
          const pc = new RTCPeerConnection(); window.p2p.pc = pc; for (const t of m.getTracks()) pc.addTrack(t, m);
          await pc.setLocalDescription();""")
        offer = gathered(pub)
        sub.js("""const pc = new RTCPeerConnection(); window.p2p.pc = pc;
          pc.ontrack = (e) => { const v = document.createElement(e.track.kind); v.autoplay = true; v.muted = true; v.srcObject = new MediaStream([e.track]); document.body.appendChild(v); };
          await pc.setRemoteDescription({type: 'offer', sdp: arguments[0]}); await pc.setLocalDescription();""", offer)
        answer = gathered(sub)
        pub.js("await window.p2p.pc.setRemoteDescription({type: 'answer', sdp: arguments[0]});", answer)
        pub.js("setInterval(window.p2p.sample, 1000)")
        def curve():
            s = pub.js("return window.p2p.samples")
            return [(round(8*(y['bytes']-x['bytes'])/(y['at']-x['at'])), round((y['avail'] or 0)/1000), round((y['target'] or 0)/1000), y['h']) for x, y in zip(s, s[1:])]
        t0 = time.time()
        while time.time() - t0 < 50:
            time.sleep(2)
            c = curve()
            if len(c) > 2 and min(r[0] for r in c[-2:]) > 600: break
        n_open = len(curve())
        a.cap(dev, 500)
        time.sleep(20)
        n_capped = len(curve())
        a.uncap(dev)
        t1 = time.time(); rec = None
        while time.time() - t1 < 40:
            time.sleep(2)
            c = curve()[n_capped:]
            if len(c) > 2 and min(r[0] for r in c[-2:]) > 500: rec = round(time.time() - t1, 1); break
        c = curve()
        print("open", c[:n_open]); print("capped", c[n_open:n_capped]); print("lifted", c[n_capped:]); print("recovered after", rec)
        json.dump({"open": c[:n_open], "capped": c[n_open:n_capped], "lifted": c[n_capped:], "recovered": rec}, open(Path(os.environ["CHORUS_ARTIFACTS"]) / "netq-p2p-baseline.json", "w"))
    finally:
        pub.quit(); sub.quit(); sa.close(); sb.close()
finally:
    print(net.close())
