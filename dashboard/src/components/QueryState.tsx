// What a page shows while its data loads or when it could not be read.
import { Alert, Button, Center, Loader } from "@mantine/core";
import { useTranslation } from "react-i18next";

export function Loading() {
  const { t } = useTranslation();
  return (
    <Center py="xl">
      <Loader aria-label={t("common.loading")} />
    </Center>
  );
}

export function LoadError({ error, retry }: { error: unknown; retry?: () => void }) {
  const { t } = useTranslation();
  const detail = error instanceof Error ? error.message : String(error);
  return (
    <Alert color="red" variant="light" title={t("common.error", { detail })} role="alert">
      {retry && (
        <Button size="xs" variant="outline" color="red" onClick={retry}>
          {t("common.retry")}
        </Button>
      )}
    </Alert>
  );
}
