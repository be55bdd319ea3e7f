(include "ports.lisp")

(defprog drop-port (:type :xdp)
  (with-tcp (data data-end tcp)
    (when (= (tcp-dst-port tcp) +blocked-port+)
      (return XDP_DROP)))
  XDP_PASS)
