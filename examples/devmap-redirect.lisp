;;; Port forwarding through a devmap: packets arriving on an interface are
;;; sent out of the interface that `tx-ports` maps its ifindex to; interfaces
;;; without an entry pass packets to the stack. An entry is the kernel's
;;; struct bpf_devmap_val: the egress ifindex, and optionally the fd of an
;;; xdp/devmap program to run on the way out (0 for none):
;;;   bpftool map update name tx_ports key 2 0 0 0 value 3 0 0 0 0 0 0 0

(defstruct devmap-val
  (ifindex u32)
  (prog-fd u32))   ; an xdp/devmap program such as mark-egress, or 0

(defmap tx-ports :type :devmap :key-type u32 :value-type devmap-val :max-entries 64)

(defprog redirect-ports (:type :xdp)
  ;; The low bits of the flags are the action when the key has no entry.
  (redirect-map tx-ports (ctx ingress-ifindex) XDP_PASS))

;; Runs on the egress device after a devmap redirect (when the devmap value
;; names this program): stamp the egress interface into the source MAC's
;; last byte, so captures show where a packet left.
(defprog mark-egress (:type :xdp :section "xdp/devmap")
  (with-eth (data data-end)
    (setf (load u8 data 11) (ctx egress-ifindex)))
  XDP_PASS)
