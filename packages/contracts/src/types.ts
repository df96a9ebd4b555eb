export interface Messages {
  id: string;
  en: string;
}
