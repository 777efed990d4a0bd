#!/usr/bin/env bash
# Makes sure this machine can run vkseq: a Vulkan loader and at least one usable device, and with
# --validation the Khronos validation layer too. What is missing is installed with apt-get when we
# are root on Debian/Ubuntu (Mesa's lavapipe is a CPU Vulkan device that always works); otherwise
# the exact command to run is printed and the script fails. With --display it also installs what
# the window tests need: GLFW's build dependencies (X11 headers; package display compiles GLFW with
# cgo) and Xvfb (tools/with-display.sh starts it when there is no display server).
#   tools/ensure-vulkan.sh VKBENCH [--validation] [--display]
set -uo pipefail
vkbench=${1:?usage: tools/ensure-vulkan.sh path/to/vkbench [--validation] [--display]}
shift
want_validation=0
want_display=0
for a in "$@"; do
  case "$a" in
    --validation) want_validation=1 ;;
    --display) want_display=1 ;;
    *) echo "ensure-vulkan.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

pkgs=()
have_device() { "$vkbench" devices -json 2>/dev/null | grep -q '"usable": true'; }
have_layer() {
  for d in /usr/share/vulkan/explicit_layer.d /usr/local/share/vulkan/explicit_layer.d /etc/vulkan/explicit_layer.d; do
    ls "$d"/*khronos_validation*.json >/dev/null 2>&1 && return 0
  done
  return 1
}
# GLFW's cgo build: one header per package (libgl1-mesa-dev for GL/gl.h, which GLFW includes).
display_pkgs=(libx11-dev:X11/Xlib.h libxcursor-dev:X11/Xcursor/Xcursor.h libxrandr-dev:X11/extensions/Xrandr.h
  libxinerama-dev:X11/extensions/Xinerama.h libxi-dev:X11/extensions/XInput2.h
  libxxf86vm-dev:X11/extensions/xf86vmode.h libgl1-mesa-dev:GL/gl.h)
have_device || pkgs+=(libvulkan1 mesa-vulkan-drivers)
[ $want_validation = 1 ] && ! have_layer && pkgs+=(vulkan-validationlayers)
if [ $want_display = 1 ]; then
  for ph in "${display_pkgs[@]}"; do
    [ -e "/usr/include/${ph#*:}" ] || pkgs+=("${ph%%:*}")
  done
  command -v Xvfb >/dev/null || pkgs+=(xvfb)
fi
[ ${#pkgs[@]} = 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${pkgs[*]} (Vulkan loader, Mesa drivers incl. lavapipe, validation layers as needed) ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq "${pkgs[@]}" >/dev/null || {
    echo "apt-get install ${pkgs[*]} failed" >&2; exit 1; }
else
  echo "vkseq needs: ${pkgs[*]}" >&2
  echo "install them with:  sudo apt-get install -y ${pkgs[*]}" >&2
  exit 1
fi
have_device || { echo "still no usable Vulkan device after installing ${pkgs[*]}" >&2; "$vkbench" devices >&2; exit 1; }
if [ $want_validation = 1 ] && ! have_layer; then echo "the validation layer is still missing" >&2; exit 1; fi
exit 0
