;; Included by drop_port.lisp: edit it and the object is rebuilt.
(defconstant +blocked-port+ 9999)
