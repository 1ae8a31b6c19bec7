// Connects to the two WebSocket paths of the server that served this file.
const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;

function logTo(id) {
  const list = document.getElementById(id);
  return (text) => {
    const item = document.createElement('li');
    item.textContent = text;
    list.append(item);
  };
}

const echoLog = logTo('echo-log');
const echo = new WebSocket(`${base}/echo`);
echo.onmessage = (event) => echoLog(`echoed: ${event.data}`);
echo.onclose = (event) => echoLog(`closed (${event.code})`);
document.getElementById('echo-form').onsubmit = (event) => {
  event.preventDefault();
  echo.send(document.getElementById('echo-text').value);
};

const countLog = logTo('count-log');
const counter = new WebSocket(`${base}/odd-even`);
let sent = 0;
counter.onmessage = (event) => countLog(`message ${sent}: ${event.data}`);
counter.onclose = (event) => {
  countLog(`closed (${event.code} ${event.reason})`);
  document.getElementById('count-button').disabled = true;
};
document.getElementById('count-button').onclick = () => {
  sent += 1;
  counter.send(`message ${sent}`);
};
