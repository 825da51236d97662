// The device lifecycle (admins): the devices list with broker accounts, and register, rotate, revoke,
// delete. Each change refreshes the devices and the gates and cameras lists the page also shows.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap, type Schemas } from "./client";
import { keys } from "./queries";

export type ManagedDevice = Schemas["ManagedDeviceOut"];
export type DeviceCredentials = Schemas["DeviceCredentialsOut"];
export type NewDevice = Schemas["DeviceIn"];

export const deviceKeys = { all: ["devices"] as const };
const PAGE = 500;

export function useDevices(enabled: boolean) {
  return useQuery({
    queryKey: deviceKeys.all,
    queryFn: async () => unwrap(await api.GET("/api/v1/devices", { params: { query: { limit: PAGE } } })),
    enabled,
  });
}

function useRefresh() {
  const client = useQueryClient();
  return () => {
    void client.invalidateQueries({ queryKey: deviceKeys.all });
    void client.invalidateQueries({ queryKey: keys.gates });
    void client.invalidateQueries({ queryKey: keys.cameras });
  };
}

export function useRegisterDevice() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async (body: NewDevice) => unwrap(await api.POST("/api/v1/devices", { body })),
    onSuccess: refresh,
  });
}

export function useRotateDevice() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.POST("/api/v1/devices/{device_id}/rotate", { params: { path: { device_id: id } } })),
    onSuccess: refresh,
  });
}

export function useRevokeDevice() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.POST("/api/v1/devices/{device_id}/revoke", { params: { path: { device_id: id } } })),
    onSuccess: refresh,
  });
}

export function useDeleteDevice() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async (id: string) => {
      const answer = await api.DELETE("/api/v1/devices/{device_id}", { params: { path: { device_id: id } } });
      if (!answer.response.ok) {
        const problem = answer.error as { detail?: unknown } | undefined;
        throw new ApiError(answer.response.status, typeof problem?.detail === "string" ? problem.detail : null);
      }
    },
    onSuccess: refresh,
  });
}
