import { MantineProvider, Table } from "@mantine/core";
import { render, screen } from "@testing-library/react";
import i18n from "i18next";
import { beforeAll, describe, expect, it } from "vitest";
import type { DeviceCredentials } from "../src/api/devices";
import { CredentialsPanel } from "../src/devices/CredentialsPanel";
import { HealthCells } from "../src/devices/HealthCells";
import "../src/i18n";

function row(health: Parameters<typeof HealthCells>[0]["health"]) {
  return render(
    <MantineProvider>
      <Table>
        <Table.Tbody>
          <Table.Tr>
            <HealthCells health={health} zone="Asia/Seoul" />
          </Table.Tr>
        </Table.Tbody>
      </Table>
    </MantineProvider>,
  );
}

const credentials: DeviceCredentials = {
  _links: { device: { href: "/api/v1/devices/north-1" } },
  device: {
    _links: {},
    device_id: "north-1",
    kind: "gate",
    site_id: "lobby",
    name: "North",
    created_at: "2026-12-03T07:00:00Z",
    credentials: "active",
    revoked_at: null,
    health: null,
  },
  username: "north-1",
  password: "s3cret-once",
  broker: { host: "mqtt.venue.lan", port: 8883, topic_root: "maskwatch/v1", tls: true },
  config: "gate_id: north-1\nmqtt:\n  host: mqtt.venue.lan\n",
  config_path: "/etc/maskwatch/gate.yaml",
  broker_reloaded: false,
};

describe("the devices page", () => {
  beforeAll(async () => {
    await i18n.changeLanguage("en");
  });

  it("shows a device's state, version and failing sensors", () => {
    row({
      online: true,
      status_at: new Date().toISOString(),
      last_seen_at: new Date().toISOString(),
      software_version: "1.4.2",
      config_version: null,
      sensors: { camera: "ok", thermometer: "failing" },
    });
    expect(screen.getByText("Online")).toBeTruthy();
    expect(screen.getByText("1.4.2")).toBeTruthy();
    expect(screen.getByText("Thermometer failing")).toBeTruthy();
  });

  it("says a device never heard from is not heard from", () => {
    row(null);
    expect(screen.getByText("Not heard from")).toBeTruthy();
    expect(screen.getByText("Never")).toBeTruthy();
  });

  it("shows the new password, the broker the Pi reaches and its config once, in Korean too", async () => {
    render(
      <MantineProvider>
        <CredentialsPanel credentials={credentials} onClose={() => {}} />
      </MantineProvider>,
    );
    expect(screen.getByDisplayValue("s3cret-once")).toBeTruthy();
    expect(screen.getByDisplayValue(/gate_id: north-1/)).toBeTruthy();
    expect(screen.getByText("mqtts://mqtt.venue.lan:8883")).toBeTruthy();
    expect(screen.getByText("The broker applies the change at its next reload.")).toBeTruthy();
    await i18n.changeLanguage("ko");
    expect(await screen.findByText("브로커가 다음에 다시 불러올 때 변경 사항이 적용됩니다.")).toBeTruthy();
    await i18n.changeLanguage("en");
  });
});
