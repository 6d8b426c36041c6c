// "Connect the apps this workflow uses": a workflow started from a template names apps the
// account may not have connected yet. Their steps' CONNECTION_REQUIRED problems say which;
// each app gets the shared Connect control, and the prompt goes once all are connected.
import { useMemo, useState } from "react";
import type { Api } from "../lib/api";
import type { Graph, Problem } from "../lib/types";
import { appsToConnect } from "../lib/templates";
import type { AppStore } from "../state/apps";
import { Connection } from "./ConnectApp";
import { Icon } from "./Icons";
import { t } from "../i18n";

interface Props {
  api: Api;
  apps: AppStore;
  graph: Graph;
  problems: Problem[];
  onConnected(): void;
}

export function ConnectPrompt({ api, apps, graph, problems, onConnected }: Props) {
  const [dismissed, setDismissed] = useState(false);
  const slugs = useMemo(() => appsToConnect(problems, graph), [problems, graph]);
  if (dismissed || slugs.length === 0) return null;
  return (
    <div className="connect-prompt" role="region" aria-label={t("Apps to connect")}>
      <div className="connect-prompt-head">
        <strong>{t("Connect the apps this workflow uses")}</strong>
        <button type="button" className="icon-btn" onClick={() => setDismissed(true)} aria-label={t("Hide this for now")}>
          <Icon name="x" size={16} />
        </button>
      </div>
      {slugs.map((slug) => {
        const app = apps.detail(slug) ?? apps.summary(slug);
        if (!app) return <p key={slug} className="muted">{t("Loading {name}…", { name: slug })}</p>;
        const own = problems.filter((p) => p.code === "CONNECTION_REQUIRED" && graph.nodes.find((n) => n.id === p.node_id)?.data?.app === slug);
        return <Connection key={slug} app={app} api={api} problems={own} onConnected={onConnected} readOnly={false} />;
      })}
    </div>
  );
}
