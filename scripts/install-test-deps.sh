#!/usr/bin/env bash
# Installs the system packages the test suite needs, if they are missing (Debian/Ubuntu).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
# The report tests print the DOCX/XLSX to PDF with LibreOffice and measure the pages with pdfinfo; the CJK fonts
# stand in for 仿宋/楷体/黑体/小标宋 (and let the browser screenshots show Chinese).
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer libreoffice-calc)
command -v pdfinfo >/dev/null 2>&1 || need+=(poppler-utils)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-noto-cjk fonts-arphic-ukai)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
