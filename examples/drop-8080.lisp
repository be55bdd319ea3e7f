;;; Drop TCP packets to port 8080 and log each drop (seed 003).
;;;   ip link set dev eth0 xdp obj drop-8080.o sec xdp
;;; The log lines appear in /sys/kernel/tracing/trace_pipe.

(defprog drop-ingress-port-8080 (:type :xdp)
  (with-tcp (data data-end tcp)
    (when (= (tcp-dst-port tcp) 8080)
      (printk "Dropping XDP ingress packet port 8080\n")
      (return XDP_DROP)))
  XDP_PASS)
