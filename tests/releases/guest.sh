# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# qemu guests that boot a release root as a real node: systemd as init, only
# the unified cgroup hierarchy, dbus, the release's Slurm.  These machines
# cannot run Slurm's cgroup/v2 themselves (a hybrid layout, no systemd), and
# nearly every site on 24.11 or 26.05 runs it.  Source roots.sh, then this
# file, as root:
#
#   guest_ensure trixie                 # image of the trixie root + a kernel
#   guest_run trixie WORKDIR CMD [ARG...]  # boot it, run CMD there as root
#
# A guest image is the release root (roots.sh) copied, with a kernel,
# systemd, dbus and udev added, made into an ext4 image with mkfs.ext4 -d.
# It is cached beside the root and rebuilt when the root's package list, the
# guest's or this file changes.  Nothing is compiled in a guest: under TCG it
# is about 26 times slower, so the tree is built in the root and reaches the
# guest, at the same path, through a 9p share of the root's /work.
# Every boot uses -snapshot: the image stays as built.  KVM only where the
# CPU shows vmx or svm; otherwise single-threaded TCG (multi-threaded TCG
# crashed the guest kernel at slurmd's first TCP connect).  User-mode
# networking with restrict=on: the guest reaches nothing outside.

AZ_GUEST_PACKAGES="linux-image-amd64 systemd-sysv dbus udev kmod iproute2"
AZ_GUEST_HOST=azguest
AZ_GUEST_BOOT_TIMEOUT=${AZ_GUEST_BOOT_TIMEOUT:-900}
AZ_GUEST_RUN_TIMEOUT=${AZ_GUEST_RUN_TIMEOUT:-3000}
_guest_self=$(readlink -f "${BASH_SOURCE[0]}")
_guest_cmdline="root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 panic=1 quiet"
_guest_cmdline+=" systemd.default_timeout_start_sec=1800 systemd.default_device_timeout_sec=1800"

_guest_err() { echo "guest: $*" >&2; }

guest_dir() { echo "$AZ_ROOTS_DIR/$1-guest"; }

_guest_stamp() {
	{
		cat "$(root_dir "$1")/.autozyme-stamp" 2>/dev/null
		echo "$AZ_GUEST_PACKAGES"
		md5sum <"$_guest_self"
	} | md5sum | cut -c1-32
}

# The guest's own files: a host name, its disk and the 9p share in fstab, a
# static address (slurmctld resolves its own name through a non-loopback
# address), the runner that runs /work/.guest/run.sh once the system is up
# and powers off, and nothing periodic.  Slurm and munge are started by the
# tests (tests/slurm/cluster.sh), not at boot.
_guest_configure() {
	local g=$1
	echo "$AZ_GUEST_HOST" >"$g/etc/hostname"
	printf '127.0.0.1\tlocalhost\n10.0.2.15\t%s\n' "$AZ_GUEST_HOST" >"$g/etc/hosts"
	printf '%s\n' '/dev/vda / ext4 rw,errors=remount-ro 0 1' \
		'work /work 9p trans=virtio,version=9p2000.L,msize=1048576,cache=none 0 0' >"$g/etc/fstab"
	mkdir -p "$g/work" "$g/etc/systemd/network"
	printf '[Match]\nName=en* eth*\n\n[Network]\nAddress=10.0.2.15/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' \
		>"$g/etc/systemd/network/10-nic.network"
	printf '9p\n9pnet_virtio\n' >"$g/etc/modules-load.d/9p.conf"
	cat >"$g/usr/local/sbin/az-runner" <<-'EOF'
		#!/bin/bash
		# Runs the host's /work/.guest/run.sh once, then powers the guest off.
		j=/work/.guest
		cut -d' ' -f1 /proc/uptime >"$j/ready.tmp" && mv "$j/ready.tmp" "$j/ready"
		bash "$j/run.sh" >"$j/out.log" 2>&1
		echo $? >"$j/rc"
		sync
		systemctl --no-block poweroff
	EOF
	chmod 755 "$g/usr/local/sbin/az-runner"
	cat >"$g/etc/systemd/system/az-runner.service" <<-'EOF'
		[Unit]
		Description=Run the host's /work/.guest/run.sh
		After=multi-user.target
		RequiresMountsFor=/work
		[Service]
		Type=oneshot
		ExecStart=/usr/local/sbin/az-runner
		TimeoutStartSec=infinity
		[Install]
		WantedBy=multi-user.target
	EOF
	root_run "$2" systemctl enable az-runner.service systemd-networkd.service
	root_run "$2" systemctl mask systemd-networkd-wait-online.service apt-daily.timer \
		apt-daily-upgrade.timer dpkg-db-backup.timer fstrim.timer e2scrub_all.timer
	root_run "$2" systemctl disable munge.service slurmd.service slurmctld.service
}

_guest_build() {
	local name=$1 g r
	g=$(guest_dir "$name")
	r=$(root_dir "$name")
	rm -rf "$g"
	mkdir -p "$g/rootfs"
	# (tar's status 1: a file changed while read: the root may be running
	# its scenarios meanwhile.)
	tar -C "$r" --exclude=./work --exclude=./tmp/\* --exclude=./proc/\* --exclude=./sys/\* --exclude=./dev/\* \
		--warning=no-file-changed -cf - . | tar -C "$g/rootfs" -xf -
	((PIPESTATUS[0] <= 1 && PIPESTATUS[1] == 0)) || return 1
	# The guest's root under roots.sh's name, so that root_run works in it.
	ln -sfn "$name-guest/rootfs" "$(root_dir "$name-guest-root")"
	# Where the kernel's package takes dracut (sid), an initrd for any
	# machine: dracut's host-only one, made in a chroot, cannot mount the
	# guest's root (virtio disk, ext4).
	mkdir -p "$g/rootfs/etc/dracut.conf.d"
	printf '%s\n' 'hostonly="no"' 'add_drivers+=" virtio_blk virtio_pci ext4 "' \
		>"$g/rootfs/etc/dracut.conf.d/autozyme-guest.conf"
	root_run "$name-guest-root" apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		$AZ_GUEST_PACKAGES >"$g/apt.log" 2>&1 || {
		_guest_err "apt in the $name guest failed:"
		tail -20 "$g/apt.log" >&2
		return 1
	}
	_guest_configure "$g/rootfs" "$name-guest-root" >>"$g/apt.log" 2>&1 || return 1
	cp -L "$g"/rootfs/boot/vmlinuz-* "$g/vmlinuz" && cp -L "$g"/rootfs/boot/initrd.img-* "$g/initrd.img" || {
		_guest_err "no kernel or initrd in the $name guest's /boot"
		return 1
	}
	mkfs.ext4 -q -F -L azguest -d "$g/rootfs" "$g/image.raw" 10G >/dev/null || return 1
	rm -rf "$g/rootfs" "$(root_dir "$name-guest-root")"
}

# guest_ensure NAME: a ready guest image of release root NAME.
guest_ensure() {
	local name=$1 g stamp lock status=0
	g=$(guest_dir "$name")
	stamp=$(_guest_stamp "$name")
	exec {lock}>"$g.lock"
	flock "$lock"
	if [[ $(cat "$g/stamp" 2>/dev/null) != "$stamp" || ! -e $g/image.raw ]]; then
		# One image at a time: made side by side they all come late, and
		# the guests run one after the other anyway.
		local t=$SECONDS images
		exec {images}>"$AZ_ROOTS_DIR/guest-images.lock"
		flock "$images"
		echo "guest: making the $name guest image in $g (waited $((SECONDS - t)) s for another)"
		t=$SECONDS
		if _guest_build "$name"; then
			echo "$stamp" >"$g/stamp"
			echo "guest: $name image made in $((SECONDS - t)) s ($(du -sh --apparent-size "$g/image.raw" | cut -f1) sparse)"
		else
			status=1
		fi
		exec {images}>&-
	fi
	exec {lock}>&-
	return $status
}

_guest_accel() {
	if [[ -w /dev/kvm ]] && grep -qw -e vmx -e svm /proc/cpuinfo; then
		echo -enable-kvm -cpu host
	else
		echo -accel tcg,thread=single -cpu max
	fi
}

# _guest_start NAME WORKDIR: qemu booting NAME's image, WORKDIR shared at
# /work, its console in WORKDIR/.guest; its pid in _guest_pid.
_guest_start() {
	local g j=$2/.guest
	g=$(guest_dir "$1")
	# An emulated machine beside the test command's other suites can get a
	# fraction of a CPU: systemd's own limits (90 s for a device, a unit's
	# start) then fire during boot (seen: ttyS0 and systemd-modules-load), so
	# they are raised, and qemu runs at a slightly better priority.
	# shellcheck disable=SC2046 # the accelerator's words
	nice -n -5 qemu-system-x86_64 $(_guest_accel) -machine pc -smp 2 -m 4096 -no-reboot -snapshot \
		-kernel "$g/vmlinuz" -initrd "$g/initrd.img" \
		-append "$_guest_cmdline" \
		-drive "file=$g/image.raw,format=raw,if=virtio" \
		-virtfs "local,path=$2,mount_tag=work,security_model=none" \
		-nic user,model=virtio-net-pci,restrict=on \
		-display none -monitor none -serial "file:$j/console.log" >"$j/qemu.out" 2>&1 &
	_guest_pid=$!
}

# _guest_wait_up NAME JOBDIR: until the runner has started (its ready mark);
# non-zero as soon as the guest cannot come up, or after the boot limit.
_guest_wait_up() {
	local t0=$SECONDS
	until [[ -e $2/ready ]]; do
		if grep -qE 'Entering emergency mode|Kernel panic' "$2/console.log" 2>/dev/null; then
			_guest_err "$1: the guest did not boot"
			return 1
		fi
		kill -0 "$_guest_pid" 2>/dev/null || {
			_guest_err "$1: qemu exited before the guest was up"
			return 1
		}
		((SECONDS - t0 <= AZ_GUEST_BOOT_TIMEOUT)) || {
			_guest_err "$1: the guest was not up after $AZ_GUEST_BOOT_TIMEOUT s"
			return 1
		}
		sleep 1
	done
	echo "guest: $1 up after $((SECONDS - t0)) s (guest uptime $(cat "$2/ready") s)"
}

# _guest_wait_done NAME: until qemu exits (the runner powers off), within
# the run limit.
_guest_wait_done() {
	local t0=$SECONDS
	while kill -0 "$_guest_pid" 2>/dev/null; do
		((SECONDS - t0 <= AZ_GUEST_RUN_TIMEOUT)) || {
			_guest_err "$1: still running after $AZ_GUEST_RUN_TIMEOUT s"
			return 1
		}
		sleep 1
	done
}

# guest_run NAME WORKDIR CMD [ARG...]: boot NAME's guest with WORKDIR at
# /work, run CMD there as root, print its output; CMD's exit status is ours.
# A guest that does not come up, or does not finish in time, fails with the
# tail of its console.
guest_run() {
	local name=$1 work=$2 j t0=$SECONDS status=0
	shift 2
	j=$work/.guest
	rm -rf "$j"
	mkdir -p "$j"
	printf '%q ' "$@" >"$j/run.sh"
	_guest_start "$name" "$work"
	_guest_wait_up "$name" "$j" && _guest_wait_done "$name" || status=1
	kill "$_guest_pid" 2>/dev/null && sleep 2 && kill -9 "$_guest_pid" 2>/dev/null
	wait "$_guest_pid" 2>/dev/null
	cat "$j/out.log" 2>/dev/null
	if ((status == 0)); then
		status=$(cat "$j/rc" 2>/dev/null || echo 1)
		[[ -e $j/rc ]] || _guest_err "$name: the guest powered off without finishing its script"
	fi
	if ((status)); then
		cat "$j/qemu.out" >&2
		echo "guest: $name console, last 40 lines:" >&2
		tail -40 "$j/console.log" >&2
	fi
	echo "guest: $name done in $((SECONDS - t0)) s"
	return "$status"
}
