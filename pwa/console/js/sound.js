// The alarm sound: a WebAudio beep, no audio file. Browsers only let a page make noise
// after a user gesture, so the context is created (or resumed) on the first click or key.

let context = null;
export const soundStats = { beeps: 0, lastState: "none" };

export function unlockAudio() {
  try {
    context = context || new (window.AudioContext || window.webkitAudioContext)();
    if (context.state === "suspended") context.resume();
  } catch (error) {
    context = null;
  }
}

for (const type of ["pointerdown", "keydown"]) {
  window.addEventListener(type, unlockAudio, { capture: true, passive: true });
}

/** Three short high tones: distinct from any ordinary UI sound. */
export function alarmBeep() {
  soundStats.beeps += 1;
  if (!context) unlockAudio();
  if (!context) return;
  soundStats.lastState = context.state;
  const start = context.currentTime + 0.02;
  for (let i = 0; i < 3; i += 1) {
    const osc = context.createOscillator();
    const gain = context.createGain();
    osc.type = "square";
    osc.frequency.value = i === 1 ? 1320 : 880;
    const t = start + i * 0.22;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.18);
    osc.connect(gain).connect(context.destination);
    osc.start(t);
    osc.stop(t + 0.2);
  }
}
