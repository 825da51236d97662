import { SegmentedControl } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { isLanguage, LANGUAGES, switchLanguage } from "../i18n";

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <SegmentedControl
      size="xs"
      aria-label={t("header.language")}
      value={isLanguage(i18n.language) ? i18n.language : "en"}
      onChange={(value) => {
        if (isLanguage(value)) void switchLanguage(value);
      }}
      data={LANGUAGES.map((language) => ({ value: language, label: t(`language.${language}`) }))}
    />
  );
}
