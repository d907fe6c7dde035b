// Placeholder viewer page: joins the webinar's WebSocket (sending nothing)
// and shows the stage decisions the server pushes.
"use strict";

const statusLine = document.getElementById("status");
const stage = document.getElementById("stage");

function describe(decision) {
  const [channel, value] = Object.entries(decision.action)[0];
  const who = decision.origin === "host" ? "the host" : `rule ${decision.origin.rule}`;
  const item = document.createElement("article");
  item.className = `decision ${channel}`;
  const heading = document.createElement("h2");
  heading.textContent = decision.card ? decision.card.title : `${channel}: ${value.replace(/_/g, " ")}`;
  const body = document.createElement("p");
  body.textContent = decision.card ? decision.card.body : `decided by ${who}`;
  item.append(heading, body);
  return item;
}

async function join() {
  const webinar = await (await fetch("/webinar")).json();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/viewer?webinar=${encodeURIComponent(webinar.id)}`);
  socket.onopen = () => { statusLine.textContent = `Joined webinar ${webinar.id}.`; };
  socket.onclose = (event) => {
    statusLine.textContent = `Disconnected (${event.code} ${event.reason || ""}). Reload to rejoin.`;
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "decision") {
      stage.prepend(describe(message));
      while (stage.children.length > 5) stage.lastChild.remove();
    }
  };
}

join().catch((error) => { statusLine.textContent = `Could not join: ${error}`; });
