// A page only some may open (users, the audit log): shown when the API root links it for this caller.
// The API refuses the others anyway; this keeps them from a page of errors.
import { Alert } from "@mantine/core";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { offers } from "../api/hal";
import { useRoot } from "../api/queries";
import { Loading, LoadError } from "./QueryState";

export function RequireLink({ rel, children }: { rel: string; children: ReactNode }) {
  const { t } = useTranslation();
  const root = useRoot();
  if (root.isPending) return <Loading />;
  if (root.error) return <LoadError error={root.error} retry={() => void root.refetch()} />;
  if (!offers(root.data, rel)) {
    return (
      <Alert color="gray" variant="light" role="alert" data-testid="not-allowed">
        {t("form.notAllowed")}
      </Alert>
    );
  }
  return <>{children}</>;
}
