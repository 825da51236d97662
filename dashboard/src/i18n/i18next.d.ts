// Translation keys are checked at compile time: t("overview.visitorz") does not type-check.
import "i18next";
import type en from "./en";

declare module "i18next" {
  interface CustomTypeOptions {
    defaultNS: "translation";
    resources: { translation: typeof en };
  }
}
