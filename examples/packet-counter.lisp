;;; Count packets and bytes per EtherType class, and pass every packet.
;;; Read the counters with `whistler run` or `bpftool map dump name counters`.

(defconstant +slot-ipv4+ 0)
(defconstant +slot-ipv6+ 1)
(defconstant +slot-other+ 2)

;; Per-CPU: every CPU counts into its own slot, no atomics needed.
(defmap packets :type :percpu-array :key-size 4 :value-size 8 :max-entries 3)
(defmap bytes :type :percpu-array :key-size 4 :value-size 8 :max-entries 3)

(defprog count-packets (:type :xdp)
  (let* ((data (xdp-data))
         (data-end (xdp-data-end))
         (slot (if (< (- data-end data) +eth-hdr-len+)
                   +slot-other+
                   (case (eth-type data)
                     (#x0800 +slot-ipv4+)
                     (#x86dd +slot-ipv6+)
                     (otherwise +slot-other+)))))
    (incf (getmap packets slot))
    (incf (getmap bytes slot) (- data-end data)))
  XDP_PASS)
