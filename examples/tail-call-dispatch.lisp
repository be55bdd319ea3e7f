;;; Tail-call dispatcher: the entry program jumps to a per-protocol program
;;; through a prog-array map indexed by the IP protocol number. User space
;;; fills the table with program fds (key 6: handle-tcp, 17: handle-udp);
;;; protocols without a program fall through to XDP_PASS.

(defmap jump-table :type :prog-array :max-entries 256)
(defmap udp-packets :type :percpu-array :key-type u32 :value-type u64 :max-entries 1)

(defprog dispatch (:type :xdp)
  (with-ipv4 (data data-end ip)
    (tail-call jump-table (ipv4-protocol ip)))
  XDP_PASS)

;; TCP: drop telnet, pass the rest.
(defprog handle-tcp (:type :xdp :section "xdp/tcp")
  (with-tcp (data data-end tcp)
    (when (= (tcp-dst-port tcp) 23)
      (return XDP_DROP)))
  XDP_PASS)

;; UDP: count and pass.
(defprog handle-udp (:type :xdp :section "xdp/udp")
  (incf (getmap udp-packets 0))
  XDP_PASS)
