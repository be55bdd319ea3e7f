;;; A macro that writes XDP programs: each (def-port-filter NAME PROTOCOL PORT)
;;; defines a program that drops PROTOCOL packets to PORT. One file, two programs.

(defmacro def-port-filter (name protocol port)
  (let ((header (gensym "l4")))
    `(defprog ,name (:type :xdp :section ,(format nil "xdp/~a" (string-downcase (symbol-name name))))
       (,(if (eq protocol :tcp) 'with-tcp 'with-udp) (data data-end ,header)
        (when (= (,(if (eq protocol :tcp) 'tcp-dst-port 'udp-dst-port) ,header) ,port)
          (return XDP_DROP)))
       XDP_PASS)))

(def-port-filter block-telnet :tcp 23)
(def-port-filter block-dns :udp 53)
